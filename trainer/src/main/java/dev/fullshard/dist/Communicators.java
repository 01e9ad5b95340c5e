package dev.fullshard.dist;

import dev.fullshard.tensor.Device;

import java.util.Map;

/** Picks the communicator a process was started for. */
public final class Communicators {
    private Communicators() {
    }

    /** {@link #fromEnvironment(Map)} of this process's environment. */
    public static Communicator fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    /**
     * For ranks computing on {@code device}: NCCL on a CUDA device (at any world size, so one GPU runs the
     * same collectives as many), else {@link #fromEnvironment(Map)}.
     */
    public static Communicator fromEnvironment(Map<String, String> env, Device device) {
        return device.type() == Device.Type.CUDA ? NcclCommunicator.init(env, device) : fromEnvironment(env);
    }

    /**
     * MPI when the environment announces more than one rank: {@code WORLD_SIZE} (the fullshard launcher)
     * or {@code PMI_SIZE} (MPICH's {@code mpiexec}/Hydra) greater than 1, or {@code PMI_PORT} (a PMI-1 TCP
     * server; the size then comes from MPI). Otherwise the single-process {@link LocalCommunicator}.
     * A bad number is an error, as is MPI being needed but MPICH missing.
     */
    public static Communicator fromEnvironment(Map<String, String> env) {
        int worldSize = worldSize(env);
        if (worldSize > 1) return MpiCommunicator.init(worldSize);
        if (worldSize == 0 && env.get("PMI_PORT") != null) return MpiCommunicator.init(0);
        return LocalCommunicator.INSTANCE;
    }

    /** The announced world size: WORLD_SIZE, else PMI_SIZE, else 0 (not announced). */
    static int worldSize(Map<String, String> env) {
        for (String name : new String[] {"WORLD_SIZE", "PMI_SIZE"}) {
            String v = env.get(name);
            if (v == null || v.isBlank()) continue;
            try {
                int n = Integer.parseInt(v.strip());
                if (n < 1) throw new NumberFormatException();
                return n;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "=" + v + ": expected a whole number ≥ 1");
            }
        }
        return 0;
    }
}
