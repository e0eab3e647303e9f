/* `ipcbench compare`: two results documents, row by row, with a significance test over their repetitions. */
#ifndef IPCBENCH_COMPARE_H
#define IPCBENCH_COMPARE_H

/** `ipcbench compare BASE.json NEW.json`: argv[0] is "compare". Returns the exit status. */
int compare_main(int argc, char **argv);

#endif
