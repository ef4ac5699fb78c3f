/* main.c — the hilo-whatsapp executable: the connector runtime (connectors/lib) driven by the
 * whatsapp provider adapter (adapter_*.c in this folder, table hilo_whatsapp_adapter).
 * Everything but the adapter lives in the library; see docs/connectors.md. */
#include "hilo/adapter.h"

extern const hilo_adapter_ops_t hilo_whatsapp_adapter;

int main(int argc, char **argv) { return hilo_connector_main(&hilo_whatsapp_adapter, argc, argv); }
