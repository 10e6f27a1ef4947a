/*
 * azmi C SDK example: gets an access token for Azure Resource Manager (or the resource given as
 * the first argument) from the managed identity of the machine, and says when it expires. The
 * token text itself is not printed: it is a secret.
 *
 * Build (the SDK unpacked in $AZMI, e.g. azmi-<version>-linux-x64):
 *   export PKG_CONFIG_PATH=$AZMI/lib/pkgconfig
 *   cc token.c $(pkg-config --cflags --libs azmi) -Wl,-rpath,$AZMI/lib -o token   # libazmi.so
 *   cc token.c $(pkg-config --cflags --libs azmi-static) -o token                 # libazmi.a
 * Run it on an Azure machine with a managed identity, or against azmi-emulator with
 * AZMI_IMDS_ENDPOINT set to its token endpoint.
 */
#include <stdio.h>

#include "azmi.h"

int main(int argc, char **argv) {
    const char *resource = argc > 1 ? argv[1] : "https://management.azure.com/";
    azmi_token *token = NULL;
    azmi_error *err = NULL;

    printf("azmi %s\n", azmi_version());
    if (azmi_get_token(resource, NULL /* system-assigned identity */, 0, NULL, &token, &err) !=
        AZMI_OK) {
        fprintf(stderr, "no token for %s: %s: %s\n", resource,
                azmi_status_name(azmi_error_status(err)), azmi_error_message(err));
        azmi_error_free(err);
        return 1;
    }
    /* Send azmi_token_access_token(token) in an "Authorization: Bearer" header. */
    printf("token for %s: %s, %zu characters, expires at %lld (Unix time)\n",
           azmi_token_resource(token), azmi_token_type(token),
           azmi_token_access_token_len(token), (long long)azmi_token_expires_on(token));
    azmi_token_free(token); /* wipes the token text */
    azmi_shutdown(NULL); /* stops azmi's threads and wipes its token cache */
    return 0;
}
