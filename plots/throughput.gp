# ipcbench chart: stream throughput against message size, one line per mechanism:
# the median over the repetitions of the bytes per second the receiver got, its
# bar the 95% interval of that median (no bar below 6 repetitions). The floors
# are black dashed lines: floor-xcopy at the best it reached in the run at each
# size (what x floor divides by); floor-memcpy (grey: one CPU copying alone, no
# peer) at its own median, a reference no row is divided by. An x after a line's
# last point: the sizes after it are unsupported.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data, blocks separated by two blank lines: one per mechanism, in the order of
# `names` (columns: size_bytes bytes_per_s ci95_low ci95_high); one per floor,
# in the order of `floor_names` (size_bytes bytes_per_s "label"); when `stops`
# is 1, one more with the lines that stop (size_bytes bytes_per_s "label" rgb
# label_bytes_per_s: where the label goes, apart from the others).
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
names    = '@NAMES@'
colors   = '@COLORS@'
points   = '@POINTS@'
dashes   = '@DASHES@'
floor_names  = '@FLOOR_NAMES@'
floor_colors = '@FLOOR_COLORS@'
floor_points = '@FLOOR_POINTS@'
floor_dashes = '@FLOOR_DASHES@'
stops    = @STOPS@
sizetics = '@XTICS@'

set terminal pngcairo size 1200,720 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set output outfile
set title title font ',15' noenhanced offset 0,1.4
set label 1 subtitle at screen 0.45, screen 0.91 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 5.5
set key outside right top vertical Left reverse noenhanced samplen 3.5 spacing 1.1 width 1
set key title 'mechanism' font ',11'
set border 3
set xtics nomirror
set ytics nomirror
set grid xtics ytics mytics lt 1 lc rgb '#d8d8d8' lw 1 dt solid, lt 1 lc rgb '#eeeeee' lw 1 dt solid
set logscale xy
# the x range ends at the sizes measured, with a little room either side
set autoscale xfix
set autoscale yfix
set offsets graph 0.05, graph 0.05, graph 0.04, graph 0.04
# tics read as 10 MB/s, 1 GB/s: decimal prefixes, as bandwidth is quoted
set format y '%.0s %cB/s'
eval('set xtics '.sizetics)
set xlabel 'message size, bytes (K = 1024; header included)'
set ylabel 'throughput, bytes per second received (MB: million bytes), log scale'
set errorbars 0.5
# labels on an opaque box, so the lines behind them do not cross the text
set style textbox opaque noborder margins 0.5,0.5

n = words(names)
nf = words(floor_names)
# gnuplot reads a loop's options even when it runs no time: a word of an empty list must still be one
num(list, j) = words(list) >= j ? int(word(list, j)) : 1
colour(list, j) = words(list) >= j ? word(list, j) : '#000000'
# nudge the series apart along x so their bars do not hide each other
step = (0.6 / n < 0.12 ? 0.6 / n : 0.12)
dodge(i) = exp(step * (i - (n + 1) / 2.0))
# the bars solid and thin whatever the line's dash; the line and its markers over them
plot for [i=1:n] datafile index (i-1) using ($1*dodge(i)):2:3:4 with yerrorbars \
         lc rgb word(colors, i) pt 0 ps 0 dt 1 lw 1.2 notitle, \
     for [i=1:n] datafile index (i-1) using ($1*dodge(i)):2 with linespoints \
         lc rgb word(colors, i) pt int(word(points, i)) dt int(word(dashes, i)) ps 1.1 lw 2 title word(names, i), \
     for [j=1:nf] datafile index (n+j-1) using 1:2 with linespoints lc rgb colour(floor_colors, j) \
         pt num(floor_points, j) dt num(floor_dashes, j) ps 1.3 lw 2.5 title word(floor_names, j), \
     for [s=1:stops] datafile index (n+nf) using ($1*1.45):2:($4) with points pt 2 ps 2.2 lw 2.5 \
         lc rgb variable notitle, \
     for [s=1:stops] datafile index (n+nf) using ($1*1.45):5:3:4 with labels left offset 1.2,0 font ',9' boxed \
         textcolor rgb variable notitle
