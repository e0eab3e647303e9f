# ipcbench chart: the round-trip time distribution at one size, on a "nines" axis
# (as HdrHistogram plots do): percentile p sits at x = -log10(1 - p/100), so 90%
# is 1, 99% is 2, 99.9% is 3. The last point of a line is the max, placed at
# 1 - 1/samples.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: one block per mechanism, in the order of `names`, blocks separated by two
# blank lines; columns: x_nines rtt_us percentile_label.
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
names    = '@NAMES@'
colors   = '@COLORS@'
points   = '@POINTS@'
dashes   = '@DASHES@'
xmax     = @XMAX@

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
set logscale y
set format y '%g'
set xrange [0:xmax]
set xtics ('min' 0, '50%%' log10(2), '90%%' 1, '99%%' 2, '99.9%%' 3, '99.99%%' 4, '99.999%%' 5, '99.9999%%' 6)
set xlabel 'percentile of round trips ("nines" scale; the last point of each line is the max)'
set ylabel 'round-trip time (µs), log scale'

n = words(names)
# the max points are labelled while they are few enough not to pile up
plot for [i=1:n] datafile index (i-1) using 1:2 with linespoints \
     lc rgb word(colors, i) pt int(word(points, i)) dt int(word(dashes, i)) ps 1.1 lw 2 title word(names, i), \
     for [i=1:(n <= 4 ? n : 0)] datafile index (i-1) using 1:2:(strcol(3) eq 'max' ? 'max' : '') with labels \
     offset char 0,0.8 font ',9' textcolor rgb word(colors, i) notitle
