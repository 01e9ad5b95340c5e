package dev.fullshard.train;

import dev.fullshard.bindings.CudaLibraries;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.Device;

import java.util.Map;

/** The device a rank computes on, from the config's {@code device} and the launcher's {@code LOCAL_RANK}. */
public final class RankDevice {
    private RankDevice() {
    }

    /**
     * cpu, or GPU {@code LOCAL_RANK} (0 without a launcher), made this thread's current CUDA device. Throws
     * with the reason when {@code cuda} is asked for and cannot be had.
     */
    public static Device select(TrainConfig.DeviceChoice choice, Map<String, String> env) {
        return switch (choice) {
            case CPU -> Device.CPU;
            case CUDA -> gpu(env);
            case AUTO -> CudaLibraries.available() ? gpu(env) : Device.CPU;
        };
    }

    private static Device gpu(Map<String, String> env) {
        CudaLibraries.require();
        int count = Cuda.deviceCount();
        int local = localRank(env);
        if (local >= count) {
            String visible = env.get("CUDA_VISIBLE_DEVICES");
            throw new IllegalStateException("device: cuda: this rank (LOCAL_RANK=" + local + ") needs GPU " + local + " but "
                    + (count == 0 ? "no GPU is" : count == 1 ? "1 GPU is" : count + " GPUs are") + " visible"
                    + (visible != null ? " (CUDA_VISIBLE_DEVICES=" + visible + ")" : "")
                    + "; start at most one rank per GPU (--nproc), or set device: cpu");
        }
        Device d = Device.cuda(local);
        Cuda.setDevice(d);
        return d;
    }

    private static int localRank(Map<String, String> env) {
        String v = env.get("LOCAL_RANK");
        if (v == null || v.isBlank()) return 0;
        try {
            int r = Integer.parseInt(v.strip());
            if (r < 0) throw new NumberFormatException();
            return r;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LOCAL_RANK=" + v + ": expected a whole number ≥ 0");
        }
    }
}
