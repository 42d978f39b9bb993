/*
 * lineage.h: which processes take part in a recording. gargalo records the process it
 * starts, whatever program that process runs: the variable and the preloaded object stay
 * in its environment, so that when it replaces itself with exec (env, nice, a wrapper
 * script's last command) the new program is recorded too. The processes it starts are
 * not recorded: a forked child stops taking part at the fork (see preload.c), and any
 * program a descendant runs finds the variable naming another process and leaves.
 */
#ifndef RECORD_LINEAGE_H
#define RECORD_LINEAGE_H

#include "wire.h"

/* In a descendant of the recorded process: the variable and the preloaded object leave
 * its environment (so that what it runs does not even load gargalo), and the socket it
 * may have inherited is closed. Called from the constructor, before the program runs. */
void lineage_leave(const wire_setup *st);

#endif
