/* main.c — the hilo-sms executable: the connector runtime (connectors/lib) driven by the
 * sms provider adapter (adapter_*.c in this folder, table hilo_sms_adapter).
 * Everything but the adapter lives in the library; see docs/connectors.md. */
#include "hilo/adapter.h"

extern const hilo_adapter_ops_t hilo_sms_adapter;

int main(int argc, char **argv) { return hilo_connector_main(&hilo_sms_adapter, argc, argv); }
