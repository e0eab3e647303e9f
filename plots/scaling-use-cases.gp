# ipcbench chart: speedup over one worker against the number of workers, in C and in
# Python, as processes and as threads. Left: CPU-bound work (models.scaling and
# models.python.cpu_bound). Right: I/O-bound work, waits of 1 ms with a little CPU work
# between (models.iobound: ops/s over its one-worker ops/s; models.python.io_bound).
# ipcbench filled in the parameters below; re-render in this directory with:
#   gnuplot @SCRIPT@
# Data: block 0 CPU-bound, block 1 I/O-bound; columns:
#   workers c_processes c_threads python_processes python_threads (- when not measured)
title    = '@TITLE@'
subtitle = '@SUBTITLE@'
method   = '@METHOD@'
datafile = '@DATA@'
outfile  = '@OUTPUT@'
cpu_cols = '@CPU_COLS@'
io_cols  = '@IO_COLS@'
cpu_max  = @CPU_MAX@
io_max   = @IO_MAX@

# Per column: title, colour, point type, dash type (processes blue, threads
# orange, as in the spawn and scaling charts; C solid, Python dashed).
t2 = 'C processes';      c2 = '#0072B2'; p2 = 7;  d2 = 1
t3 = 'C threads';        c3 = '#E69F00'; p3 = 5;  d3 = 1
t4 = 'Python processes'; c4 = '#0072B2'; p4 = 9;  d4 = 2
t5 = 'Python threads';   c5 = '#E69F00'; p5 = 11; d5 = 2
col(i, cols) = int(word(cols, i))

set terminal pngcairo size 1400,700 font 'DejaVu Sans,11' noenhanced
set encoding utf8
set output outfile
set datafile missing '-'
set multiplot layout 1,2 title title font ',15' noenhanced
set label 1 subtitle at screen 0.5, screen 0.915 center font ',10' textcolor rgb '#555555' noenhanced
# how this experiment took its figures, from its own JSON (not the mechanism rows' repetitions)
set label 3 method at screen 0.5, screen 0.885 center font ',10' textcolor rgb '#555555' noenhanced
set tmargin 7
set key top left Left reverse noenhanced samplen 2.5 spacing 1.15
set border 3
set xtics nomirror
set ytics nomirror
set grid xtics ytics lt 1 lc rgb '#d8d8d8' lw 1 dt solid
set xlabel 'workers (processes or threads)'
set ylabel 'speedup over one worker (times)'

set title 'CPU-bound: one job split over n workers' font ',12'
set xrange [0.8 : cpu_max + 0.2]
set yrange [0 : cpu_max + 0.5]
set xtics 1
if (words(cpu_cols) > 0) {
  plot for [i=1:words(cpu_cols)] datafile index 0 using 1:(column(col(i, cpu_cols))) with linespoints \
         lc rgb value(sprintf('c%d', col(i, cpu_cols))) pt value(sprintf('p%d', col(i, cpu_cols))) \
         dt value(sprintf('d%d', col(i, cpu_cols))) ps 1.3 lw 2 title value(sprintf('t%d', col(i, cpu_cols))), \
       x with lines dt 3 lw 1.5 lc rgb '#777777' title 'ideal (linear)'
} else {
  set label 2 'not measured in this run' at graph 0.5, graph 0.5 center
  plot x with lines dt 3 lw 1.5 lc rgb '#777777' title 'ideal (linear)'
  unset label 2
}
unset label 1
unset label 3

set title 'I/O-bound: waits of 1 ms, a little CPU work between' font ',12'
set logscale xy 2
set xrange [0.8 : io_max * 1.25]
set yrange [0.5 : io_max * 1.25]
set xtics 2
if (words(io_cols) > 0) {
  plot for [i=1:words(io_cols)] datafile index 1 using 1:(column(col(i, io_cols))) with linespoints \
         lc rgb value(sprintf('c%d', col(i, io_cols))) pt value(sprintf('p%d', col(i, io_cols))) \
         dt value(sprintf('d%d', col(i, io_cols))) ps 1.3 lw 2 title value(sprintf('t%d', col(i, io_cols))), \
       x with lines dt 3 lw 1.5 lc rgb '#777777' title 'ideal (linear)'
} else {
  set label 2 'not measured in this run' at graph 0.5, graph 0.5 center
  plot x with lines dt 3 lw 1.5 lc rgb '#777777' title 'ideal (linear)'
}
unset multiplot
