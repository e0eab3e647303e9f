# ipcbench chart: round-trip time against message size, one line per mechanism:
# the p50 (the median of the repetitions' p50s), its bar the 95% interval of
# that median over the repetitions (no bar below 6 repetitions). The floors
# (floor-cacheline, floor-wake) are measured at one size, 64 B: each is a short
# black mark there, at the best p50 it reached in the run (what x floor divides
# by). An x after a line's last point: the sizes after it are unsupported.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data, blocks separated by two blank lines: one per mechanism, in the order of
# `names` (columns: size_bytes p50_ns ci95_low_ns ci95_high_ns); one per floor,
# in the order of `floor_names` (size_bytes value_ns "label"); when `stops` is 1,
# one more with the lines that stop (size_bytes value_ns "label" rgb label_ns).
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
stops    = @STOPS@
sizetics = '@XTICS@'

set terminal pngcairo size 1200,720 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set micro
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
set format y '%.0s %cs'
eval('set xtics '.sizetics)
set xlabel 'message size, bytes (K = 1024; header included)'
set ylabel 'round-trip time, log scale (point: p50; bar: its 95% interval)'
set errorbars 0.5
# labels on an opaque box, so the lines behind them do not cross the text
set style textbox opaque noborder margins 0.5,0.5

n = words(names)
nf = words(floor_names)
# gnuplot reads a loop's options even when it runs no time: a word of an empty list must still be one
num(list, j) = words(list) >= j ? int(word(list, j)) : 1
colour(list, j) = words(list) >= j ? word(list, j) : '#000000'
ns(v) = v * 1e-9
# nudge the series apart along x so their bars do not hide each other
step = (0.6 / n < 0.12 ? 0.6 / n : 0.12)
dodge(i) = exp(step * (i - (n + 1) / 2.0))
# the bars solid and thin whatever the line's dash; the line and its markers over them
plot for [i=1:n] datafile index (i-1) using ($1*dodge(i)):(ns($2)):(ns($3)):(ns($4)) with yerrorbars \
         lc rgb word(colors, i) pt 0 ps 0 dt 1 lw 1.2 notitle, \
     for [i=1:n] datafile index (i-1) using ($1*dodge(i)):(ns($2)) with linespoints \
         lc rgb word(colors, i) pt int(word(points, i)) dt int(word(dashes, i)) ps 1.1 lw 2 title word(names, i), \
     for [j=1:nf] datafile index (n+j-1) using 1:(ns($2)):($1/1.6):($1*1.6) with xerrorbars \
         lc rgb colour(floor_colors, j) pt num(floor_points, j) ps 1.4 lw 3 title word(floor_names, j), \
     for [j=1:nf] datafile index (n+j-1) using ($1/1.6):(ns($2)):(sprintf('%s, %s', word(floor_names, j), strcol(3))) \
         with labels left offset 0,-0.9 font ',9' boxed textcolor rgb colour(floor_colors, j) notitle, \
     for [s=1:stops] datafile index (n+nf) using ($1*1.45):(ns($2)):($4) with points pt 2 ps 2.2 lw 2.5 \
         lc rgb variable notitle, \
     for [s=1:stops] datafile index (n+nf) using ($1*1.45):(ns($5)):3:4 with labels left offset 1.2,0 font ',9' boxed \
         textcolor rgb variable notitle
