package dev.fullshard.dist;

import dev.fullshard.tensor.Device;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the NCCL communicator decides before it touches a GPU, so it runs on any machine. */
class NcclCommunicatorTest {
    @Test
    void needsACudaDeviceAndAValidEnvironment() {
        assertThatThrownBy(() -> NcclCommunicator.init(Map.of(), Device.CPU)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NCCL needs a CUDA device");
        assertThatThrownBy(() -> NcclCommunicator.init(Map.of("WORLD_SIZE", "2"), Device.cuda(0)))
                .hasMessageContaining("WORLD_SIZE=2 but no RANK");
        assertThatThrownBy(() -> NcclCommunicator.init(Map.of("WORLD_SIZE", "2", "RANK", "2"), Device.cuda(0)))
                .hasMessageContaining("RANK=2: expected a whole number in [0, 2)");
        // Several ranks share rank 0's unique id through the launcher: without one, say so before any NCCL call.
        assertThatThrownBy(() -> NcclCommunicator.init(Map.of("WORLD_SIZE", "2", "RANK", "1"), Device.cuda(0)))
                .hasMessageContaining("PMI_PORT and PMI_ID are not set");
    }

    @Test
    void timeoutComesFromTheEnvironment() {
        assertThat(NcclCommunicator.timeoutSeconds(Map.of())).isEqualTo(600);
        assertThat(NcclCommunicator.timeoutSeconds(Map.of("FULLSHARD_NCCL_TIMEOUT", "30"))).isEqualTo(30);
        assertThatThrownBy(() -> NcclCommunicator.timeoutSeconds(Map.of("FULLSHARD_NCCL_TIMEOUT", "0")))
                .hasMessageContaining("FULLSHARD_NCCL_TIMEOUT=0: expected whole seconds ≥ 1");
        assertThatThrownBy(() -> NcclCommunicator.timeoutSeconds(Map.of("FULLSHARD_NCCL_TIMEOUT", "10m")))
                .hasMessageContaining("FULLSHARD_NCCL_TIMEOUT=10m");
    }
}
