package dev.fullshard.dist;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** MPI_Comm_split's rule, which the NCCL communicator computes itself: groups by color, ranked by key, then by old rank. */
class SplitMemberTest {
    @Test
    void ranksInAGroupFollowTheKeyThenTheOldRank() {
        long[] colors = {0, 1, 0, 1, 0, 1};
        long[] keys = {5, 0, 5, 0, 1, 9};
        assertThat(SplitMember.of(colors, keys, 0)).isEqualTo(new SplitMember(1, 3));
        assertThat(SplitMember.of(colors, keys, 2)).isEqualTo(new SplitMember(2, 3));
        assertThat(SplitMember.of(colors, keys, 4)).isEqualTo(new SplitMember(0, 3));
        assertThat(SplitMember.of(colors, keys, 1)).isEqualTo(new SplitMember(0, 3));
        assertThat(SplitMember.of(colors, keys, 3)).isEqualTo(new SplitMember(1, 3));
        assertThat(SplitMember.of(colors, keys, 5)).isEqualTo(new SplitMember(2, 3));
    }

    @Test
    void theHybridGroupsOfFourRanksOnTwoNodes() {
        long[] byNode = {0, 0, 1, 1}, byLocalRank = {0, 1, 0, 1}, keys = {0, 1, 2, 3};
        for (int r = 0; r < 4; r++) {
            assertThat(SplitMember.of(byNode, keys, r)).as("rank %d within its node", r).isEqualTo(new SplitMember(r % 2, 2));
            assertThat(SplitMember.of(byLocalRank, keys, r)).as("rank %d across nodes", r).isEqualTo(new SplitMember(r / 2, 2));
        }
    }

    @Test
    void agreeingSharesEveryRanksColorAndKey() throws Exception {
        ThreadRanks.run(3, comm -> assertThat(SplitMember.agree(comm, comm.rank() == 1 ? 7 : 3, -comm.rank()))
                .isEqualTo(comm.rank() == 1 ? new SplitMember(0, 1) : new SplitMember(comm.rank() == 0 ? 1 : 0, 2)));
    }
}
