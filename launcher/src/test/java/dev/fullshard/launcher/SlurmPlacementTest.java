package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SlurmPlacementTest {
    /** The name matched against node lists comes from Slurm or the kernel, never from a DNS lookup. */
    @Test
    void thisHostsNameNeedsNoResolver() throws Exception {
        assertThat(LauncherCommand.localHostName(Map.of("SLURMD_NODENAME", "gpu-node-7"))).isEqualTo("gpu-node-7");
        assertThat(LauncherCommand.localHostName(Map.of()))
                .isEqualTo(Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
    }

    /** srun passes the batch shell's environment to every node, so HOSTNAME names the first node everywhere. */
    @Test
    void anInheritedHostnameVariableIsNotThisHostsName() throws Exception {
        assertThat(LauncherCommand.localHostName(Map.of("HOSTNAME", "node0")))
                .isEqualTo(Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
    }

    @Test
    void expandsSlurmHostLists() {
        assertThat(Hostlist.expand("gpu[01-04,07],cpu3")).containsExactly("gpu01", "gpu02", "gpu03", "gpu04", "gpu07", "cpu3");
        assertThat(Hostlist.expand("node7")).containsExactly("node7");
        assertThat(Hostlist.expand("a[8-11]")).containsExactly("a8", "a9", "a10", "a11");
        assertThat(Hostlist.expand("r[1-2]-n[0-1]")).containsExactly("r1-n0", "r1-n1", "r2-n0", "r2-n1");
        assertThat(Hostlist.expand("x[009-010],y")).containsExactly("x009", "x010", "y");
        assertThatThrownBy(() -> Hostlist.expand("gpu[01-02")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void slurmEnvironmentGivesNodesRankAndMaster() throws Exception {
        Placement p = Placement.detect(Map.of("SLURM_JOB_NODELIST", "gpu[01-04]", "SLURM_NNODES", "4",
                "SLURM_NODEID", "2", "SLURM_PROCID", "2", "SLURM_LOCALID", "0"), "gpu03");
        assertThat(p).isEqualTo(new Placement("slurm", 4, 2, "gpu01", List.of("gpu01", "gpu02", "gpu03", "gpu04")));
        assertThat(Placement.detect(Map.of(), "h")).isNull();
    }

    /** torchrun scripts pass --node_rank=$SLURM_PROCID; with one task per node the launcher derives it itself. */
    @Test
    void withOneTaskPerNodeTheNodeRankIsTheSlurmTaskRank() throws Exception {
        Map<String, String> oneTaskPerNode = Map.of("SLURM_JOB_NODELIST", "gpu[01-04]", "SLURM_NNODES", "4",
                "SLURM_NTASKS", "4", "SLURM_PROCID", "3", "SLURM_NODEID", "1");
        assertThat(Placement.detect(oneTaskPerNode, "gpu02").nodeRank()).isEqualTo(3);
        Map<String, String> twoTasksPerNode = Map.of("SLURM_JOB_NODELIST", "gpu[01-04]", "SLURM_NNODES", "4",
                "SLURM_NTASKS", "8", "SLURM_PROCID", "5", "SLURM_NODEID", "2");
        assertThat(Placement.detect(twoTasksPerNode, "gpu03").nodeRank()).as("the task rank is not a node rank").isEqualTo(2);
        Map<String, String> noTaskCount = Map.of("SLURM_JOB_NODELIST", "gpu[01-04]", "SLURM_NNODES", "4", "SLURM_PROCID", "3");
        assertThat(Placement.detect(noTaskCount, "gpu02").nodeRank()).as("from the host list").isEqualTo(1);
    }

    @Test
    void pbsNodefileGivesUniqueHostsInOrder(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("nodes");
        Files.writeString(f, "n1.cluster\nn1.cluster\nn2.cluster\nn2.cluster\n");
        Placement p = Placement.detect(Map.of("PBS_NODEFILE", f.toString()), "n2");
        assertThat(p.nnodes()).isEqualTo(2);
        assertThat(p.nodeRank()).isEqualTo(1);
        assertThat(p.masterAddr()).isEqualTo("n1.cluster");
    }

    @Test
    void optionsComeFromFullshardEnvAndTheCommandLineWins() throws Exception {
        LauncherCommand c = new LauncherCommand(Map.of("FULLSHARD_NPROC_PER_NODE", "3", "FULLSHARD_MAX_RESTARTS", "2",
                "FULLSHARD_STANDALONE", "1"), System.out);
        LauncherCommand.commandLine(c).parseArgs("--no-java", "true");
        LaunchSpec s = c.resolve();
        assertThat(s.nprocPerNode()).isEqualTo(3);
        assertThat(s.maxRestarts()).isEqualTo(2);
        assertThat(s.masterPort()).isZero();
        LauncherCommand d = new LauncherCommand(Map.of("FULLSHARD_NPROC_PER_NODE", "3"), System.out);
        LauncherCommand.commandLine(d).parseArgs("--nproc", "5", "--no-java", "true", "-x");
        assertThat(d.resolve().nprocPerNode()).isEqualTo(5);
        assertThat(d.resolve().rankCommand()).containsExactly("true", "-x");
        assertThat(LauncherCommand.envName("--nproc-per-node")).isEqualTo("FULLSHARD_NPROC_PER_NODE");
    }
}
