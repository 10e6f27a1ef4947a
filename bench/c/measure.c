/*
 * Runs one command and prints its wall time, CPU time and peak memory, for the benchmark
 * scripts (bench/lib/bench.sh builds it). What GNU time does, so that the benchmarks need
 * nothing a new machine lacks.
 *
 *   measure <out> <err> -- <command> [<arg>...]
 *
 * The command's standard output goes to the file <out>, its standard error to <err>. Prints one
 * line: "<wall seconds> <peak RSS KiB> <user seconds> <system seconds>": the wall time from just
 * before the process is started to its exit (monotonic clock), and the kernel's figures for the
 * process (getrusage of the waited-for child: ru_maxrss, ru_utime, ru_stime). Exits with the
 * command's exit status (128 + the signal when a signal ended it).
 *
 * Why C and not python3: a process's peak RSS counts the memory of the process it was forked
 * from up to its exec, so a launcher's own size is a floor under every figure. This one's is
 * about a megabyte (python3's would be about fourteen).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: %s <out> <err> -- <command> [<arg>...]\n", argv[0]);
        return 2;
    }
    int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) {
        perror("measure: opening the output files");
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        if (dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) _exit(127);
        close(out);
        close(err);
        execvp(argv[4], &argv[4]);
        fprintf(stderr, "measure: cannot run %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    close(out);
    close(err);
    int status = 0;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            perror("measure: wait4");
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double wall = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%.3f %ld %.3f %.3f\n", wall, usage.ru_maxrss, seconds(usage.ru_utime), seconds(usage.ru_stime));
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 2;
}
