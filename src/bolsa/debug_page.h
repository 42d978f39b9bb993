/*
 * debug_page.h: GET /debug/gargalo/, the page of profiles: every profile of the profile
 * directory, newest first, with what its name says (profile_name.h: time, method and
 * route, status, duration, samples, asked or slow), its format and size, and links that
 * open it or download it (debug_files.h); above them, a form for a whole-process profile
 * (debug_profile.h).
 *
 * Everything shown comes from the file names, so the page opens no profile: it costs one
 * listing of the directory, whose size retention bounds (BOLSA_PROFILE_KEEP). The newest
 * 1,000 are listed. The page is self-contained and has no script: its one style sheet is
 * inline with a nonce of its own answer, and its Content-Security-Policy allows nothing
 * else (no request leaves it; its form goes to bolsa only).
 */
#ifndef BOLSA_DEBUG_PAGE_H
#define BOLSA_DEBUG_PAGE_H

#include "http.h"
#include "profiling.h"

/* Answers GET /debug/gargalo/ (access already checked). */
void bolsa_debug_page_handle(const bolsa_profiling *p, bolsa_request *req, bolsa_response *resp);

#endif
