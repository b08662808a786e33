// Times whole commands like `hyperfine -N`, but interleaved: run 1 of every command, then
// run 2 of every command, and so on. On a shared VM whose speed drifts over tens of
// seconds, back-to-back series (hyperfine's way) can put two commands in different
// conditions; interleaving makes a ratio of medians compare like with like.
//
// Usage: interleave --runs N --warmup W --export-json FILE 'command one' 'command two' ...
// A command written as 'status=K command ...' must exit with status K (secret-tool printing
// its usage exits 2); every other command must exit 0.
// Commands are split on spaces (no quoting, no redirection) and found on PATH; their output
// goes to /dev/null. The JSON has hyperfine's shape: {"results": [{"command", "times"}]}.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int runs = 30, warmup = 3, first = 1;
    const char *output = NULL;
    while (first + 1 < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "--runs") == 0) runs = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--warmup") == 0) warmup = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--export-json") == 0) output = argv[first + 1];
        else { fprintf(stderr, "interleave: unknown option %s\n", argv[first]); return 64; }
        first += 2;
    }
    int count = argc - first;
    if (count < 1 || runs < 1) { fprintf(stderr, "usage: interleave --runs N --warmup W --export-json FILE COMMAND...\n"); return 64; }
    char ***commands = calloc((size_t)count, sizeof *commands);
    int *expected = calloc((size_t)count, sizeof *expected);
    double *times = calloc((size_t)count * (size_t)runs, sizeof *times);
    for (int c = 0; c < count; c++) {
        char *copy = strdup(argv[first + c]);
        commands[c] = calloc(strlen(copy) / 2 + 2, sizeof(char *));
        int words = 0;
        for (char *word = strtok(copy, " "); word; word = strtok(NULL, " ")) {
            if (words == 0 && strncmp(word, "status=", 7) == 0) { expected[c] = atoi(word + 7); continue; }
            commands[c][words++] = word;
        }
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    for (int run = -warmup; run < runs; run++) {
        for (int c = 0; c < count; c++) {
            struct timespec start, end;
            pid_t pid;
            int status;
            clock_gettime(CLOCK_MONOTONIC, &start);
            if (posix_spawnp(&pid, commands[c][0], &actions, NULL, commands[c], environ) != 0) {
                fprintf(stderr, "interleave: cannot start %s\n", commands[c][0]);
                return 1;
            }
            waitpid(pid, &status, 0);
            clock_gettime(CLOCK_MONOTONIC, &end);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != expected[c]) {
                fprintf(stderr, "interleave: %s failed\n", argv[first + c]);
                return 1;
            }
            if (run >= 0) times[c * runs + run] = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
        }
    }
    FILE *json = output ? fopen(output, "w") : NULL;
    if (json) fprintf(json, "{\"results\": [");
    for (int c = 0; c < count; c++) {
        double *series = times + c * runs;
        if (json) {
            fprintf(json, "%s{\"command\": \"%s\", \"times\": [", c ? ", " : "", argv[first + c]);
            for (int run = 0; run < runs; run++) fprintf(json, "%s%.9f", run ? ", " : "", series[run]);
            fprintf(json, "]}");
        }
        qsort(series, (size_t)runs, sizeof *series, compare);
        printf("%8.2f ms median  %8.2f ms p10  %8.2f ms p90  %s\n", series[runs / 2] * 1e3, series[runs / 10] * 1e3,
               series[runs * 9 / 10] * 1e3, argv[first + c]);
    }
    if (json) { fprintf(json, "]}\n"); fclose(json); }
    return 0;
}
