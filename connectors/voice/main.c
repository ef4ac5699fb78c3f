/* main.c — the hilo-voice executable: the connector runtime (connectors/lib) driven by the
 * voice provider adapter (adapter_*.c in this folder, table hilo_voice_adapter).
 * Everything but the adapter lives in the library; see docs/connectors.md. */
#include "hilo/adapter.h"

extern const hilo_adapter_ops_t hilo_voice_adapter;

int main(int argc, char **argv) { return hilo_connector_main(&hilo_voice_adapter, argc, argv); }
