/*
 * calibrate.h: which source of SIGPROF costs a wall-clock session's thread less on this
 * machine: a timer of its own (the interrupt taken on its CPU) or the ticker thread's
 * signal queued from another CPU. Which is cheaper depends on the machine (a virtual
 * machine's timer interrupts are dear, its inter-processor ones sometimes dearer), so it
 * is measured once, at gargalo_preload, not assumed.
 */
#ifndef GG_CALIBRATE_H
#define GG_CALIBRATE_H

#include <stdbool.h>

/* Measures both (about a tenth of a second on the calling thread) and remembers the
 * cheaper. The caller has installed gargalo's SIGPROF handler (gg_sigprof_install). */
void gg_calibrate_signals(void);

/* Whether wall-clock signal sessions use a timer of their own thread: the environment's
 * GARGALO_SIGNAL_SOURCE=timer|ticker if set, else the measured answer, else (nothing
 * measured) false: the ticker. Thread-safe. */
bool gg_calibrated_own_timer(void);

#endif
