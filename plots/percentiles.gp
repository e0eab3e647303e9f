# ipcbench chart: the round-trip time distribution at one size, on a "nines" axis
# (as HdrHistogram plots do): percentile p sits at x = -log10(1 - p), so 90% is 1,
# 99% is 2, 99.9% is 3. A line is the row's histogram of every round trip of every
# repetition, read at even steps of x; its last point is the max, the N-th of N
# round trips, at 1 - 1/N. A mechanism drawn as points alone came from a file
# without histograms: its percentiles that enough round trips back, and its max.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: one block per mechanism, in the order of `names`, blocks separated by two
# blank lines; columns: x_nines rtt_ns.
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
names    = '@NAMES@'
colors   = '@COLORS@'
points   = '@POINTS@'
dashes   = '@DASHES@'
lines    = '@LINES@'
marks    = '@MARKS@'
dots     = '@DOTS@'
xmax     = @XMAX@

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
set logscale y
set format y '%.0s %cs'
set xrange [0:xmax]
# tic labels are formats: %% is a percent sign
set xtics ('min' 0, '50%%' log10(2), '90%%' 1, '99%%' 2, '99.9%%' 3, '99.99%%' 4, '99.999%%' 5, '99.9999%%' 6, '99.99999%%' 7)
set xlabel 'percentile of round trips, nines scale (each line ends at the slowest round trip, the max)'
set ylabel 'round-trip time, log scale'

ns(v) = v * 1e-9
# gnuplot reads a loop's options even when it runs no time: an empty list must still give a number
num(list, j) = words(list) >= j ? int(word(list, j)) : 1
line(j) = num(lines, j)
dot(j) = num(dots, j)
plot for [j=1:words(lines)] datafile index (line(j)-1) using 1:(ns($2)) with linespoints pi num(marks, j) \
         lc rgb word(colors, line(j)) pt int(word(points, line(j))) dt int(word(dashes, line(j))) ps 1.1 lw 2 \
         title word(names, line(j)), \
     for [j=1:words(dots)] datafile index (dot(j)-1) using 1:(ns($2)) with points \
         lc rgb word(colors, dot(j)) pt int(word(points, dot(j))) ps 1.4 lw 2 title word(names, dot(j))
