package dev.fullshard.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Where this launcher sits in a multi-node job, read from a scheduler when the command line does not say.
 * Slurm: one launcher per node ({@code srun --ntasks-per-node=1}), node rank {@code SLURM_PROCID} (else
 * {@code SLURM_NODEID}); PBS: the unique hosts of {@code PBS_NODEFILE}.
 */
record Placement(String scheduler, int nnodes, int nodeRank, String masterAddr, List<String> hosts) {

    /** Returns the scheduler's view, or null when no scheduler is detected. */
    static Placement detect(Map<String, String> env, String localHost) throws IOException {
        String nodelist = env.get("SLURM_JOB_NODELIST");
        if (nodelist == null) nodelist = env.get("SLURM_NODELIST");
        if (nodelist != null && !nodelist.isBlank()) {
            List<String> hosts = Hostlist.expand(nodelist);
            int nnodes = parse(env.get("SLURM_NNODES"), env.get("SLURM_JOB_NUM_NODES"), hosts.size());
            // One task per node (srun --ntasks-per-node=1): the task's rank is the node's, as torchrun scripts assume
            String procId = env.get("SLURM_NTASKS") != null && parse(env.get("SLURM_NTASKS"), null, -1) == nnodes
                    ? env.get("SLURM_PROCID") : null;
            int nodeRank = parse(procId, env.get("SLURM_NODEID"), Math.max(0, hosts.indexOf(localHost)));
            return new Placement("slurm", nnodes, nodeRank, hosts.getFirst(), hosts);
        }
        String nodefile = env.get("PBS_NODEFILE");
        if (nodefile != null && !nodefile.isBlank()) {
            List<String> hosts = List.copyOf(new LinkedHashSet<>(Files.readAllLines(Path.of(nodefile)).stream()
                    .map(String::strip).filter(s -> !s.isEmpty()).toList()));
            if (hosts.isEmpty()) throw new IOException("PBS_NODEFILE " + nodefile + " lists no hosts");
            int nodeRank = indexOfHost(hosts, localHost);
            return new Placement("pbs", hosts.size(), Math.max(0, nodeRank), hosts.getFirst(), hosts);
        }
        return null;
    }

    private static int indexOfHost(List<String> hosts, String localHost) {
        String shortName = localHost.split("\\.")[0];
        for (int i = 0; i < hosts.size(); i++) {
            String h = hosts.get(i);
            if (h.equals(localHost) || h.split("\\.")[0].equals(shortName)) return i;
        }
        return -1;
    }

    private static int parse(String a, String b, int fallback) {
        for (String s : new String[] {a, b}) {
            if (s != null && !s.isBlank()) return Integer.parseInt(s.strip().replaceAll("\\(.*", ""));
        }
        return fallback;
    }
}
