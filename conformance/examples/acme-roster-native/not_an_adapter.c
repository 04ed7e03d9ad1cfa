/* not_an_adapter.c: a shared library without the lingua_adapter_v1
 * symbol, for the test that the runner refuses it with a clear, located
 * error (exit 3) instead of crashing. */
int acme_roster_version(void);

int acme_roster_version(void)
{
    return 1;
}
