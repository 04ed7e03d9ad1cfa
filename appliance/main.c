/* appliance/main.c: the `lingua` executable. All logic is in lx_cli_main. */
#include "appliance/cli.h"

int main(int argc, char **argv) { return lx_cli_main(argc, argv); }
