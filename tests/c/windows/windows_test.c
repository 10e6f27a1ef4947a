/*
 * What azmi does differently on Windows, from C: run by tests/c/run.sh win-x64 under Wine
 * against azmi-emulator.exe.
 * - Paths as Windows users write them: drive letters with backslashes or forward slashes, the
 *   verbatim form (\\?\C:\...), and paths longer than MAX_PATH (260), for uploads and downloads.
 * - A download whose destination another program holds open: Windows cannot replace such a
 *   file; the download is complete and verified, so azmi keeps it beside the destination and
 *   says where, and the destination is left as it was.
 * - Azure Arc's Windows locations: the key-file folder %ProgramData%\AzureConnectedMachineAgent\Tokens
 *   (with no AZMI_ARC_TOKENS_DIR) and agent detection by %ProgramFiles%\AzureConnectedMachineAgent\himds.exe.
 * Environment: AZMI_IMDS_ENDPOINT, AZMI_CA_FILE, AZMI_ADLS_BASE (the emulator's services URL),
 * and for Arc AZMI_TEST_ARC_IDENTITY_ENDPOINT, AZMI_TEST_ARC_IMDS_ENDPOINT (an `--source arc`
 * emulator's banner) and AZMI_TEST_ARC_PROGRAMDATA (the folder whose
 * AzureConnectedMachineAgent\Tokens is that emulator's --arc-tokens-dir).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azmi.h"
#include "../check.h"

#define CONTENT "azmi on Windows: the same bytes at every path.\r\n"

static int write_file(const char *path, const char *data) {
    HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written = 0;
    BOOL ok;
    if (h == INVALID_HANDLE_VALUE) return 0;
    ok = WriteFile(h, data, (DWORD)strlen(data), &written, NULL);
    CloseHandle(h);
    return ok && written == strlen(data);
}

/* Makes a folder (or finds it there); the wide call, since the ANSI ones stop at MAX_PATH even
 * in the \\?\ form. */
static int make_folder(const char *path) {
    wchar_t wide[2048];
    if (MultiByteToWideChar(CP_UTF8, 0, path, -1, wide, 2048) == 0) return 0;
    return CreateDirectoryW(wide, NULL) || GetLastError() == ERROR_ALREADY_EXISTS;
}

/* Whether the file at `path` (UTF-8, any form CreateFileW takes) holds exactly `data`. */
static int file_holds(const char *path, const char *data) {
    char buf[256];
    wchar_t wide[2048];
    DWORD got = 0;
    BOOL ok;
    HANDLE h;
    if (MultiByteToWideChar(CP_UTF8, 0, path, -1, wide, 2048) == 0) return 0;
    h = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) return 0;
    ok = ReadFile(h, buf, sizeof buf, &got, NULL);
    CloseHandle(h);
    return ok && got == strlen(data) && memcmp(buf, data, got) == 0;
}

static azmi_status download(azmi_adls *adls, const char *remote, const char *local, azmi_error **err) {
    return azmi_adls_download(adls, remote, local, AZMI_ADLS_OVERWRITE, NULL, NULL, NULL, err);
}

/* Uploads from `local` and downloads back to `back`; both paths as given. */
static void round_trip(azmi_adls *adls, const char *local, const char *back, const char *what) {
    azmi_error *err = NULL;
    char label[256];
    azmi_status s;
    snprintf(label, sizeof label, "%s: upload", what);
    s = azmi_adls_upload(adls, local, "/windows/paths.txt", AZMI_ADLS_OVERWRITE, NULL, NULL, NULL, &err);
    report(s, err, label);
    CHECK(s == AZMI_OK, label);
    err = NULL;
    snprintf(label, sizeof label, "%s: download", what);
    s = download(adls, "/windows/paths.txt", back, &err);
    report(s, err, label);
    CHECK(s == AZMI_OK, label);
    snprintf(label, sizeof label, "%s: the bytes came back", what);
    CHECK(file_holds(back, CONTENT), label);
}

static void test_paths(azmi_adls *adls, const char *folder) {
    char local[MAX_PATH], back[MAX_PATH], slashed[MAX_PATH], verbatim[MAX_PATH + 8];
    char deep[1024], deep_verbatim[1100], deep_file[1100], deep_back[1100];
    size_t i;
    int made = 1;

    /* Drive letter and backslashes: what GetTempPath gives. */
    snprintf(local, sizeof local, "%s\\source.txt", folder);
    snprintf(back, sizeof back, "%s\\back.txt", folder);
    CHECK(write_file(local, CONTENT), "write the local file");
    round_trip(adls, local, back, "drive letter and backslashes");

    /* The same with forward slashes, as PowerShell and many tools pass them. */
    snprintf(slashed, sizeof slashed, "%s", back);
    for (i = 0; slashed[i] != '\0'; i++) {
        if (slashed[i] == '\\') slashed[i] = '/';
    }
    round_trip(adls, local, slashed, "forward slashes");

    /* The verbatim form. */
    snprintf(verbatim, sizeof verbatim, "\\\\?\\%s\\verbatim.txt", folder);
    round_trip(adls, local, verbatim, "\\\\?\\ verbatim path");

    /* Longer than MAX_PATH: folders made through the verbatim form, the file named plainly. */
    snprintf(deep, sizeof deep, "%s", folder);
    while (strlen(deep) < 300 && made) {
        strncat(deep, "\\a-folder-name-of-forty-characters-xxxx", sizeof deep - strlen(deep) - 1);
        snprintf(deep_verbatim, sizeof deep_verbatim, "\\\\?\\%s", deep);
        made = make_folder(deep_verbatim);
    }
    CHECK(made, "make folders deeper than MAX_PATH");
    snprintf(deep_file, sizeof deep_file, "%s\\long.txt", deep);
    snprintf(deep_back, sizeof deep_back, "\\\\?\\%s\\long.txt", deep);
    CHECK(strlen(deep_file) > MAX_PATH, "the long path is longer than MAX_PATH");
    round_trip(adls, local, deep_file, "a path longer than MAX_PATH");
    CHECK(file_holds(deep_back, CONTENT), "the long path's file is where it was named");
}

/* A destination another program holds open (no FILE_SHARE_DELETE) cannot be replaced: the
 * verified download is kept as <name>.azmi-download, and the destination is untouched. */
static void test_open_destination(azmi_adls *adls, const char *folder) {
    char held[MAX_PATH], kept[MAX_PATH + 32];
    azmi_error *err = NULL;
    azmi_status s;
    HANDLE h;
    snprintf(held, sizeof held, "%s\\held.txt", folder);
    snprintf(kept, sizeof kept, "%s.azmi-download", held);
    CHECK(write_file(held, "the old content"), "write the held file");
    h = CreateFileA(held, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(h != INVALID_HANDLE_VALUE, "hold the destination open");
    s = download(adls, "/windows/paths.txt", held, &err);
    CHECK(s == AZMI_IO_ERROR, "replacing a file held open is an I/O error");
    CHECK(err != NULL && strstr(azmi_error_message(err), "complete and verified") != NULL &&
              strstr(azmi_error_message(err), "held.txt.azmi-download") != NULL &&
              strstr(azmi_error_message(err), "another program has open") != NULL,
          "the error says the download was kept, where, and why");
    if (err != NULL && s != AZMI_IO_ERROR) report(s, err, "held download");
    else azmi_error_free(err);
    CloseHandle(h);
    CHECK(file_holds(held, "the old content"), "the held destination is unchanged");
    CHECK(file_holds(kept, CONTENT), "the kept download holds the new content");
    DeleteFileA(kept);
}

/* Sets or (value NULL) removes an environment variable for this process; azmi reads the
 * process environment when an identity is made. */
static void set_env(const char *name, const char *value) {
    SetEnvironmentVariableA(name, value);
}

static const char *const source_variables[] = {
    "AZMI_IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE", "AZMI_ARC_TOKENS_DIR",
};

static void clear_sources(void) {
    size_t i;
    for (i = 0; i < sizeof source_variables / sizeof source_variables[0]; i++) set_env(source_variables[i], NULL);
}

static const char *detected_source(void) {
    static char name[64];
    azmi_identity *id = NULL;
    name[0] = '\0';
    if (azmi_identity_new(NULL, NULL, NULL, &id, NULL) == AZMI_OK) {
        snprintf(name, sizeof name, "%s", azmi_identity_source(id));
        azmi_identity_free(id);
    }
    return name;
}

static void test_arc(const char *folder) {
    const char *identity_endpoint = getenv("AZMI_TEST_ARC_IDENTITY_ENDPOINT");
    const char *imds_endpoint = getenv("AZMI_TEST_ARC_IMDS_ENDPOINT");
    const char *program_data = getenv("AZMI_TEST_ARC_PROGRAMDATA");
    char files[MAX_PATH], agent[MAX_PATH], himds[MAX_PATH], ie[512], me[512], pd[MAX_PATH];
    azmi_identity *id = NULL;
    azmi_token *token = NULL;
    azmi_error *err = NULL;
    azmi_status s;
    CHECK(identity_endpoint != NULL && imds_endpoint != NULL && program_data != NULL,
          "the Arc emulator's variables are set (run.sh sets them)");
    if (identity_endpoint == NULL || imds_endpoint == NULL || program_data == NULL) return;
    /* Copies: getenv's strings may move when the environment changes. */
    snprintf(ie, sizeof ie, "%s", identity_endpoint);
    snprintf(me, sizeof me, "%s", imds_endpoint);
    snprintf(pd, sizeof pd, "%s", program_data);
    clear_sources();

    /* The agent on disk says Arc, with no variable at all. */
    snprintf(files, sizeof files, "%s\\ProgramFiles", folder);
    snprintf(agent, sizeof agent, "%s\\AzureConnectedMachineAgent", files);
    snprintf(himds, sizeof himds, "%s\\himds.exe", agent);
    CreateDirectoryA(files, NULL);
    CreateDirectoryA(agent, NULL);
    set_env("ProgramFiles", files);
    CHECK(strcmp(detected_source(), "imds") == 0, "without the agent: IMDS");
    CHECK(write_file(himds, "MZ"), "put a himds.exe in place");
    CHECK(strcmp(detected_source(), "arc") == 0, "%ProgramFiles%\\AzureConnectedMachineAgent\\himds.exe: Arc");
    DeleteFileA(himds);
    RemoveDirectoryA(agent);
    RemoveDirectoryA(files);

    /* The agent's variables, and its key file read from %ProgramData%'s folder. */
    set_env("IDENTITY_ENDPOINT", ie);
    set_env("IMDS_ENDPOINT", me);
    set_env("ProgramData", pd);
    s = azmi_identity_new(NULL, NULL, NULL, &id, &err);
    report(s, err, "Arc identity");
    err = NULL;
    CHECK(s == AZMI_OK && strcmp(azmi_identity_source(id), "arc") == 0, "the variables say Arc");
    s = azmi_get_token("https://management.azure.com/", id, 0, NULL, &token, &err);
    report(s, err, "Arc token from %ProgramData%'s folder");
    CHECK(s == AZMI_OK && token != NULL && strcmp(azmi_token_source(token), "arc") == 0,
          "an Arc token, its key file read from %ProgramData%\\AzureConnectedMachineAgent\\Tokens");
    azmi_token_free(token);
    token = NULL;
    azmi_identity_free(id);
    id = NULL;

    /* Another %ProgramData%: the key file is outside the agent's folder, and refused. */
    set_env("ProgramData", folder);
    err = NULL;
    if (azmi_identity_new(NULL, NULL, NULL, &id, NULL) == AZMI_OK) {
        s = azmi_get_token("https://vault.azure.net", id, AZMI_FLAG_FORCE_REFRESH, NULL, &token, &err);
        CHECK(s != AZMI_OK && token == NULL, "a key file outside %ProgramData%'s Arc folder is refused");
        CHECK(err != NULL && strstr(azmi_error_message(err), "AzureConnectedMachineAgent") != NULL,
              "the refusal names the folder it expected");
        azmi_error_free(err);
        azmi_identity_free(id);
    }
}

int main(void) {
    const char *base = getenv("AZMI_ADLS_BASE");
    char folder[MAX_PATH], account[512];
    azmi_adls *adls = NULL;
    azmi_error *err = NULL;
    azmi_status s;
    if (base == NULL || getenv("AZMI_IMDS_ENDPOINT") == NULL || getenv("AZMI_CA_FILE") == NULL) {
        fprintf(stderr, "set AZMI_IMDS_ENDPOINT, AZMI_CA_FILE and AZMI_ADLS_BASE (tests/c/run.sh win-x64 does)\n");
        return 2;
    }
    if (check_temp_folder(folder, sizeof folder, "azmi-windows-c") == NULL) {
        perror("a temporary folder");
        return 2;
    }
    snprintf(account, sizeof account, "%s/fs", base);
    s = azmi_adls_new(account, AZMI_ADLS_DFS, NULL, &adls, &err);
    report(s, err, "open the account");
    CHECK(s == AZMI_OK, "azmi_adls_new");
    if (s == AZMI_OK) {
        test_paths(adls, folder);
        test_open_destination(adls, folder);
        azmi_adls_free(adls);
    }
    test_arc(folder);
    azmi_shutdown(NULL);
    printf("C windows_test: %d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
