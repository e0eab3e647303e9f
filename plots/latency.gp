# ipcbench chart: round-trip time against message size, one line per mechanism.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: one block per mechanism, in the order of `names`, blocks separated by two
# blank lines; columns: size_bytes p50_us p99_us.
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
names    = '@NAMES@'
colors   = '@COLORS@'
points   = '@POINTS@'
sizetics = '@XTICS@'
floor_us = @FLOOR_US@
floor_label = '@FLOOR_LABEL@'

set terminal pngcairo size 1200,680 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set output outfile
set title title font ',15' noenhanced offset 0,1.4
set label 1 subtitle at screen 0.45, screen 0.905 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 5.5
set key outside right top vertical Left reverse noenhanced samplen 2.5 spacing 1.15 width 1
set key title 'mechanism' font ',11'
set border 3
set xtics nomirror
set ytics nomirror
set grid xtics ytics mytics lt 1 lc rgb '#d8d8d8' lw 1 dt solid, lt 1 lc rgb '#eeeeee' lw 1 dt solid
set logscale xy
# the x range ends at the sizes measured, with a little room either side
set autoscale xfix
set offsets graph 0.04, graph 0.04, 0, 0
set format y '%g'
eval('set xtics '.sizetics)
set xlabel 'message size (bytes; K = 1024; header included)'
set ylabel 'round-trip time (µs), log scale: point p50, bar up to p99'
set errorbars 0.6
if (floor_us > 0) {
    set arrow 1 from graph 0, first floor_us to graph 1, first floor_us nohead dt 2 lw 1.5 lc rgb '#333333'
    set label 2 floor_label at graph 0.01, first floor_us offset 0,0.7 font ',9' textcolor rgb '#333333' noenhanced
}

n = words(names)
# nudge the series apart along x so their p99 bars do not hide each other
step = (0.6 / n < 0.12 ? 0.6 / n : 0.12)
dodge(i) = exp(step * (i - (n + 1) / 2.0))
plot for [i=1:n] datafile index (i-1) using ($1*dodge(i)):2:2:3 with yerrorlines \
     lc rgb word(colors, i) pt int(word(points, i)) ps 1.1 lw 2 title word(names, i)
