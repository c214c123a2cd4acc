/* error.h: status codes and the caller-owned error struct.
 *
 * Every fallible function returns an int status (TA_OK == 0) and takes a
 * `ta_error *err` last. The message names the thing and the place, git style:
 *   "cannot open 'model.safetensors': No such file or directory".
 * err may be NULL when the caller does not want the message. There is no
 * global "last error". */
#ifndef TA_CORE_ERROR_H
#define TA_CORE_ERROR_H

#include <stddef.h>

enum {
    TA_OK = 0,
    TA_EINVAL = 1,       /* bad argument or bad input value */
    TA_EIO = 2,          /* file system or socket failure */
    TA_EFORMAT = 3,      /* malformed file / data */
    TA_ENOMEM = 4,       /* allocation failed */
    TA_EUNSUPPORTED = 5, /* valid input we do not handle (names the feature) */
    TA_ERANGE = 6,       /* size or index out of range */
    TA_ENOTFOUND = 7,    /* missing file, tensor, task, ... */
    TA_EINTERRUPTED = 8, /* stopped by a signal (Ctrl-C) */
    TA_EINTERNAL = 9     /* a bug: an invariant did not hold */
};

#define TA_ERROR_MSG_MAX 512

typedef struct ta_error {
    int code;
    char msg[TA_ERROR_MSG_MAX];
} ta_error;

/* Sets err (if non-NULL) and returns code, so callers can write
 * `return ta_error_set(err, TA_EFORMAT, "'%s': bad header", path);` */
int ta_error_set(ta_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "prefix: " (for adding file/line context
 * as an error travels up). Returns err->code (or TA_EINTERNAL if err is NULL). */
int ta_error_prefix(ta_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ta_error_clear(ta_error *err);

/* Short name of a status code ("format", "io", ...). */
const char *ta_status_name(int code);

#endif
