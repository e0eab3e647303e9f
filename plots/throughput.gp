# ipcbench chart: stream throughput against message size, one line per mechanism.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: one block per mechanism, in the order of `names`, blocks separated by two
# blank lines; columns: size_bytes mb_per_s (what the receiver got, 1 MB = 10^6 bytes).
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
names    = '@NAMES@'
colors   = '@COLORS@'
points   = '@POINTS@'
dashes   = '@DASHES@'
sizetics = '@XTICS@'

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
set ylabel 'throughput (MB/s, 10^6 bytes per second), log scale'

n = words(names)
plot for [i=1:n] datafile index (i-1) using 1:2 with linespoints \
     lc rgb word(colors, i) pt int(word(points, i)) dt int(word(dashes, i)) ps 1.1 lw 2 title word(names, i)
