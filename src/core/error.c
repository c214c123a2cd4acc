#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ta_error_set(ta_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int ta_error_prefix(ta_error *err, const char *fmt, ...) {
    if (!err) return TA_EINTERNAL;
    char prefix[TA_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[TA_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t room = sizeof err->msg - n - 3, ol = strlen(old);
    if (ol > room) ol = room;
    memcpy(err->msg + n + 2, old, ol);
    err->msg[n + 2 + ol] = '\0';
    return err->code;
}

void ta_error_clear(ta_error *err) {
    if (err) {
        err->code = TA_OK;
        err->msg[0] = '\0';
    }
}

const char *ta_status_name(int code) {
    switch (code) {
    case TA_OK: return "ok";
    case TA_EINVAL: return "invalid";
    case TA_EIO: return "io";
    case TA_EFORMAT: return "format";
    case TA_ENOMEM: return "out of memory";
    case TA_EUNSUPPORTED: return "unsupported";
    case TA_ERANGE: return "range";
    case TA_ENOTFOUND: return "not found";
    case TA_EINTERRUPTED: return "interrupted";
    default: return "internal";
    }
}
