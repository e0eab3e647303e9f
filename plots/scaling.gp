# ipcbench chart: the same CPU-bound work split over 1..n workers, as processes
# and as threads; speedup is the one-worker time over the n-worker time.
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: columns workers processes_speedup threads_speedup (- when not measured).
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
method   = '@METHOD@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
workers  = @WORKERS@

set terminal pngcairo size 1200,680 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set output outfile
set title title font ',15' noenhanced offset 0,2.5
set label 1 subtitle at screen 0.45, screen 0.905 center font ',10' textcolor rgb '#555555' noenhanced
# how this experiment took its figures, from its own JSON (not the mechanism rows' repetitions)
set label 2 method at screen 0.45, screen 0.875 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 6.5
set datafile missing '-'
set key outside right top vertical Left reverse noenhanced samplen 2.5 spacing 1.15
set border 3
set xtics nomirror 1
set ytics nomirror
set grid xtics ytics lt 1 lc rgb '#d8d8d8' lw 1 dt solid
set xrange [0.8 : workers + 0.2]
set yrange [0 : workers + 0.5]
set xlabel 'workers (processes or threads)'
set ylabel 'speedup over one worker (times)'

plot datafile using 1:2 with linespoints lc rgb '#0072B2' pt 7 ps 1.3 lw 2 title 'processes', \
     '' using 1:3 with linespoints lc rgb '#E69F00' pt 5 ps 1.3 lw 2 title 'threads', \
     x with lines dt 3 lw 1.5 lc rgb '#777777' title 'ideal (linear)'
