/* Phase timings, to see where a long command's time goes: with
 * FSTORE_TIMINGS=1 in the environment, fs_phase("name") prints to stderr
 * "fstore: NAME S.SSS s" (the wall time since the previous mark, or since
 * fs_phase_start, which the command line calls first thing). Off, it costs
 * a cached getenv test. For the main thread of a command; not meant for
 * hot loops. */
#ifndef FS_PHASE_H
#define FS_PHASE_H

void fs_phase_start(void);
void fs_phase(const char *name);

#endif
