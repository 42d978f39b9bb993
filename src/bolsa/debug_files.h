/*
 * debug_files.h: GET /debug/gargalo/profiles/<name>[?download=1], one profile of the
 * profile directory, to open in the browser or (download=1) to download.
 *
 * Only a name bolsa gives its profiles (profile_name.h: letters, digits, '_', '-' and the
 * extension's dots) is served, a regular file opened without following links: nothing
 * else of the directory, nor anything outside it. Each is served with its format's
 * Content-Type, X-Content-Type-Options: nosniff and no caching. An HTML profile runs its
 * own inline script: its Content-Security-Policy allows inline script and style for that
 * answer only, in a sandbox (an opaque origin: the page cannot read bolsa's other
 * answers), and nothing else (no request leaves the page). Other formats get a policy that
 * allows nothing.
 */
#ifndef BOLSA_DEBUG_FILES_H
#define BOLSA_DEBUG_FILES_H

#include "http.h"
#include "text.h"

/* Answers with the profile name (as decoded from the path) of directory dir. */
void bolsa_debug_files_handle(const char *dir, bolsa_text name, bolsa_request *req,
                              bolsa_response *resp);

#endif
