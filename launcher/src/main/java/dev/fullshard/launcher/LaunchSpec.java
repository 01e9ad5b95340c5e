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
                  double heartbeatInterval, double nodeTimeout, String networkInterface) {

    int worldSize() { return nnodes * nprocPerNode; }

    /** The error for a master name this node's resolver does not know (said by the master and every other node alike). */
    String unresolvableMaster() {
        return "error: cannot resolve the master's name '" + masterAddr + "' on this node (" + hostname
                + "): give --master-addr as an address, or a name every node resolves";
    }

    LaunchSpec withMasterPort(int port) {
        return new LaunchSpec(nnodes, nprocPerNode, nodeRank, masterAddr, port, runId, secret, maxRestarts,
                monitorInterval, gracePeriod, failureGracePeriod, joinTimeout, logDir, localRanksFilter, rankCommand, env,
                hostname, hangTimeout, heartbeatInterval, nodeTimeout, networkInterface);
    }
}
