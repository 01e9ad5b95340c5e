package dev.fullshard.launcher;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Everything a launcher needs, resolved from the command line, the environment and the scheduler. */
record LaunchSpec(int nnodes, int nprocPerNode, int nodeRank, String masterAddr, int masterPort, String runId,
                  String secret, int maxRestarts, double monitorInterval, double gracePeriod, double failureGracePeriod,
                  double joinTimeout, Path logDir, Set<Integer> localRanksFilter, List<String> rankCommand,
                  Map<String, String> env, String hostname, double hangTimeout,
                  double heartbeatInterval, double nodeTimeout) {

    int worldSize() { return nnodes * nprocPerNode; }

    LaunchSpec withMasterPort(int port) {
        return new LaunchSpec(nnodes, nprocPerNode, nodeRank, masterAddr, port, runId, secret, maxRestarts,
                monitorInterval, gracePeriod, failureGracePeriod, joinTimeout, logDir, localRanksFilter, rankCommand, env,
                hostname, hangTimeout, heartbeatInterval, nodeTimeout);
    }
}
