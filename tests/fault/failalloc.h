/*
 * failalloc.h: allocation-failure injection for the fault tests (README.md here). Linking
 * failalloc.c into a program replaces malloc and its family for the whole process,
 * shared libraries included (jansson, SQLite, libpq, elfutils): the executable's
 * definitions come first in symbol lookup. Each call is counted only on a thread that
 * armed itself, so a test can fail the Nth allocation of one operation on one thread
 * while every other thread allocates normally.
 */
#ifndef FAILALLOC_H
#define FAILALLOC_H

/* From now on, the calling thread's allocation number n (1 for the next one) fails:
 * returns NULL with errno ENOMEM. Only that one: the later ones succeed again. */
void failalloc_arm(unsigned long n);

/* Allocations that code of a shared object whose file name contains one of names makes
 * itself are never failed, only counted apart (failalloc_spared): for a library known to
 * abort when an allocation fails, so that the test can go on past it. names is a
 * NULL-terminated list kept by reference; set it before arming any thread. */
void failalloc_spare(const char *const *names);

/* How many allocations the calling thread made while armed that were spared. */
unsigned long failalloc_spared(void);

/* Stops counting on the calling thread. Returns how many allocations it made while
 * armed, and sets *fired to 1 when the one chosen did fail (0: the operation needed
 * fewer allocations than n, so it ran without a fault). */
unsigned long failalloc_disarm(int *fired);

#endif
