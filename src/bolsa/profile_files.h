/*
 * profile_files.h: where the middleware's profiles go on disk. Each profile is a file of
 * its own, named as profile_name.h says, readable by bolsa's user only (0600:
 * a profile shows the service's code paths and timings), written whole before it appears
 * under its name; profile.<ext> is then atomically replaced by a hard link to it.
 *
 * At most `keep` files and `keep_bytes` bytes of profiles stay. Listing the directory for
 * every profile cost more than writing it (0.8 ms with 200 files), so bolsa counts what it
 * writes, from a listing at start-up; when a profile takes the count past a limit, it lists
 * the directory again and removes the oldest profiles down to nine tenths of each limit
 * (the one just written always stays), which happens once in about a tenth of `keep`
 * profiles. Only bolsa's own files count or go: those named as profile_name.h says, and
 * profile.<ext> with the profile it links to. Nothing else in the directory is touched.
 */
#ifndef BOLSA_PROFILE_FILES_H
#define BOLSA_PROFILE_FILES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "gargalo.h"
#include "profile_name.h"

typedef struct bolsa_profile_files {
    const char *dir;
    unsigned long keep;    /* most profile files kept */
    uint64_t keep_bytes;   /* most bytes they may take */
    atomic_ulong sequence; /* makes each file name unique */
    pthread_mutex_t lock;  /* over the counts, and one link update at a time */
    unsigned long count;   /* profile files in dir, as of the last listing and since */
    uint64_t bytes;        /* and their size */
} bolsa_profile_files;

/* Sets f up; dir must outlive it. Nothing is read or written yet. */
void bolsa_profile_files_init(bolsa_profile_files *f, const char *dir, unsigned long keep,
                              uint64_t keep_bytes);

/* Makes the directory ready for profiles: creates it with mode 0700 when it is missing
 * (not its parents), and refuses (BOLSA_E_CONFIG, err naming it) a directory that is not
 * one, that bolsa cannot write, or that every user may write: anyone could then plant
 * files under the names profiles take. Then counts the profiles already there, removing
 * the oldest when they are past the limits. */
bolsa_errcode bolsa_profile_files_open(bolsa_profile_files *f, bolsa_error *err);

/* Writes data[0..len) as a new profile with extension ext ("html", ...), named after meta,
 * points profile.<ext> at it and, past a limit, removes the oldest profiles. name gets the
 * new file's name inside the directory (size at least BOLSA_PROFILE_NAME_MAX).
 * BOLSA_E_INTERNAL with err saying what failed. */
bolsa_errcode bolsa_profile_files_add(bolsa_profile_files *f, const char *ext,
                                      const bolsa_profile_meta *meta, const char *data, size_t len,
                                      char *name, size_t size, bolsa_error *err);

/* Renders the stopped session s in fmt and adds it (bolsa_profile_files_add), its duration
 * and samples taken from s into meta. BOLSA_E_INTERNAL with err saying what failed. */
bolsa_errcode bolsa_profile_files_save(bolsa_profile_files *f, const gargalo_session *s,
                                       gargalo_format fmt, bolsa_profile_meta meta, char *name,
                                       size_t size, bolsa_error *err);

#endif
