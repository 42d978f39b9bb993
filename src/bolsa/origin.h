/*
 * origin.h: whether a request was sent by a page of another site. Browsers let any page
 * send "simple" cross-origin requests (a GET from an <img>, a POST of text/plain or a form)
 * without asking the server first, so requests that change data or write a profile must
 * come from the server's own origin or from a client that is not a browser page.
 */
#ifndef BOLSA_ORIGIN_H
#define BOLSA_ORIGIN_H

#include "errors.h"
#include "http.h"

/* BOLSA_E_OK unless a browser says the request comes from elsewhere: Sec-Fetch-Site
 * present and neither "same-origin" nor "none" (typed by the user), or Origin present and
 * not the server's own (bolsa_origin_is_own). Otherwise BOLSA_E_CROSS_ORIGIN, loc
 * ["header", "sec-fetch-site" or "origin"]. No header at all (curl, scripts) is allowed. */
bolsa_errcode bolsa_origin_check(const bolsa_request *req, bolsa_error *err);

/* 1 when origin ("http://127.0.0.1:8000") names the server the client reached through
 * host (its Host header, "127.0.0.1:8000"): scheme http or https, the same port (80 or
 * 443 when left out), and the same host name, in any case, or two of the names of the
 * loopback server (localhost, 127.0.0.1, [::1]), which a client may use for one another.
 * "null", a path, user info or a missing host are not the server's own. */
int bolsa_origin_is_own(const char *origin, const char *host);

#endif
