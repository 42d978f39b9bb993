/*
 * A fixture for scripts/check-style.sh --self-test (not compiled into anything): includes
 * a file of bolsa may have, then ones it may not, listed in bolsa_includes.expected.
 */
#include <stdio.h>
#include <sys/types.h>

#include "gargalo.h"
#include <gargalo.h>
#include "dynbuf.h"
#include "store.h"
#include "timing.h"

#include "session.h"
#include <symbols.h>
#include "../gargalo/render.h"
#include "../../src/gargalo/ticker.h"
#include "gargalo/gargalo.h"
