package dev.fullshard.launcher;

import dev.fullshard.dist.PmiKvs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The trainer's key-value client (how NCCL ranks share rank 0's unique id) against the launcher's real server. */
@Timeout(30)
class PmiKvsTest {
    private static Map<String, String> env(PmiServer server, int rank) {
        return Map.of("PMI_PORT", "127.0.0.1:" + server.port(), "PMI_ID", Integer.toString(rank));
    }

    @Test
    void rankZeroPutsAndEveryRankGetsAfterTheBarrier() throws Exception {
        try (PmiServer server = new PmiServer(InetAddress.getLoopbackAddress(), 0, "s3cret", (m, s) -> s.close())) {
            server.newJob("kvs_nccl_0", 3, 1, 3);
            String id = "0a1b".repeat(64);                      // the 128-byte NCCL id as hex
            List<CompletableFuture<String>> got = new ArrayList<>();
            ExecutorService ranks = Executors.newFixedThreadPool(3);    // one thread per rank: they meet in a barrier
            for (int r = 0; r < 3; r++) {
                int rank = r;
                got.add(CompletableFuture.supplyAsync(() -> {
                    try (PmiKvs kvs = PmiKvs.connect(env(server, rank), 10_000)) {
                        if (rank == 0) kvs.put("fullshard_nccl_unique_id", id);
                        kvs.barrier();
                        return kvs.get("fullshard_nccl_unique_id");
                    }
                }, ranks));
            }
            for (CompletableFuture<String> f : got) assertThat(f.get()).isEqualTo(id);
            ranks.shutdown();
        }
    }

    @Test
    void aMissingKeyAndAMissingServerAreClearErrors() throws Exception {
        try (PmiServer server = new PmiServer(InetAddress.getLoopbackAddress(), 0, "s3cret", (m, s) -> s.close())) {
            server.newJob("kvs_nccl_1", 1, 1, 1);
            try (PmiKvs kvs = PmiKvs.connect(env(server, 0), 10_000)) {
                assertThatThrownBy(() -> kvs.get("nobody_put_this")).hasMessageContaining("get of 'nobody_put_this' failed");
            }
        }
        assertThatThrownBy(() -> PmiKvs.connect(Map.of(), 1_000)).hasMessageContaining("PMI_PORT and PMI_ID are not set");
    }
}
