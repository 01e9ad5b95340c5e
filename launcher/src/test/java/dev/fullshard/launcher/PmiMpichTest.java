package dev.fullshard.launcher;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Unmodified MPICH ranks (a C allreduce built with mpicc) rendezvous through our PMI-1 server. */
@Timeout(180)
class PmiMpichTest {
    @TempDir static Path tmp;
    static Path program;
    static Path blocked;

    @BeforeAll
    static void compile() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/mpicc")), "mpicc (Debian package mpich) not installed");
        Path src = tmp.resolve("allreduce.c");
        Files.writeString(src, """
                #include <mpi.h>
                #include <stdio.h>
                int main(int argc, char **argv) {
                    int rank, size, sum = 0;
                    MPI_Init(&argc, &argv);
                    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
                    MPI_Comm_size(MPI_COMM_WORLD, &size);
                    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
                    printf("rank %d of %d sum %d\\n", rank, size, sum);
                    fflush(stdout);
                    MPI_Finalize();
                    return 0;
                }
                """);
        program = tmp.resolve("allreduce");
        compile(src, program);
        // Rank 0 dies after the ranks are connected; rank 1 then waits in a barrier that never completes and,
        // like the trainer, only notes a SIGTERM (it would act on it at its next step boundary).
        Path blockedSrc = tmp.resolve("blocked.c");
        Files.writeString(blockedSrc, """
                #include <mpi.h>
                #include <signal.h>
                #include <stdio.h>
                #include <unistd.h>
                static volatile sig_atomic_t stop_requested;
                static void on_term(int s) { stop_requested = 1; }
                int main(int argc, char **argv) {
                    int rank, one = 1, sum;
                    signal(SIGTERM, on_term);
                    MPI_Init(&argc, &argv);
                    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
                    MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
                    printf("connected %d\\n", sum);
                    fflush(stdout);
                    if (rank == 0) { sleep(1); _exit(3); }
                    MPI_Barrier(MPI_COMM_WORLD);
                    return 0;
                }
                """);
        blocked = tmp.resolve("blocked");
        compile(blockedSrc, blocked);
    }

    private static void compile(Path src, Path out) throws Exception {
        Process cc = new ProcessBuilder("mpicc", "-o", out.toString(), src.toString()).inheritIO().start();
        assertThat(cc.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(cc.exitValue()).isZero();
    }

    /** The stop after a failure does not wait --grace-period for a rank that cannot finish its collective. */
    @Test
    void aRankBlockedInACollectiveAfterItsPeerDiedIsStoppedWellWithinTheGracePeriod(@TempDir Path logs) {
        var t = new LauncherProcessTest();
        t.dir = logs;
        var r = t.launchExactly(Map.of(), "--standalone", "--nproc", "2", "--log-dir", logs.toString(),
                "--grace-period", "30", "--no-java", blocked.toString());
        assertThat(r.code()).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("[rank1]:connected 2", "rank : 0", "still running 5.0 s after SIGTERM: SIGKILL");
    }

    @Test
    void twoMpichRanksOnOneNode(@TempDir Path logs) {
        var t = new LauncherProcessTest();
        t.dir = logs;
        var r = t.launch(Map.of(), "--standalone", "--nproc", "2", "--no-java", program.toString());
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("[rank0]:rank 0 of 2 sum 1", "[rank1]:rank 1 of 2 sum 1");
    }

    @Test
    void twoLaunchersActingAsTwoNodes(@TempDir Path logs) throws Exception {
        int port = LauncherProcessTest.freePort();
        var t = new LauncherProcessTest();
        t.dir = logs;
        LauncherProcessTest.Result[] node = new LauncherProcessTest.Result[1];
        Thread n1 = new Thread(() -> node[0] = t.launch(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2",
                "--node-rank", "1", "--nproc", "1", "--master-port", "" + port, "--rdzv-id", "two", "--join-timeout", "60",
                "--no-java", program.toString()));
        n1.start();
        var master = t.launch(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2", "--node-rank", "0", "--nproc", "1",
                "--master-port", "" + port, "--rdzv-id", "two", "--join-timeout", "60", "--no-java", program.toString());
        n1.join();
        assertThat(master.code()).as(master.out()).isZero();
        assertThat(node[0].code()).as(node[0].out()).isZero();
        assertThat(master.out()).contains("[rank0]:rank 0 of 2 sum 1");
        assertThat(node[0].out()).contains("[rank1]:rank 1 of 2 sum 1");
    }

    @Test
    void aRestartGetsAFreshKeyValueSpace(@TempDir Path logs) {
        var t = new LauncherProcessTest();
        t.dir = logs;
        var r = t.launch(Map.of(), "--standalone", "--nproc", "2", "--max-restarts", "1",
                "--no-java", "sh", "-c", "if [ \"$FULLSHARD_RESTART_COUNT\" = 0 ] && [ \"$RANK\" = 1 ]; then exit 3; fi; exec "
                        + program);
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("restarting the gang", "[rank0]:rank 0 of 2 sum 1", "[rank1]:rank 1 of 2 sum 1");
    }
}
