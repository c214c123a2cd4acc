#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

TA_COMMAND("version", ta_cmd_version, "print the version");

int ta_cmd_version(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: taskalign version\n\nPrints the taskalign version.\n");
        return 0;
    }
    printf("taskalign %s\n", TA_VERSION);
    return 0;
}
