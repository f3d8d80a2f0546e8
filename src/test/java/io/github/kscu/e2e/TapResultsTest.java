package io.github.kscu.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.e2e.E2eScenariosIT.Result;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The e2e runner's reading of bats TAP: every planned test is a result, and only "ok" passes. */
class TapResultsTest {
    @Test
    void passesFailuresAndTheirDiagnostics() {
        List<Result> results = E2eScenariosIT.parse(List.of(
                "1..2",
                "ok 1 the node registers with the startup taint",
                "not ok 2 the taint is gone within 2 s",
                "# (in test file e2e/scenarios/02-approve-csr.bats, line 30)",
                "#   `awk ...' failed",
                "# latency_s=3.2"));
        assertThat(results).extracting(Result::name)
                .containsExactly("the node registers with the startup taint", "the taint is gone within 2 s");
        assertThat(results).extracting(Result::passed).containsExactly(true, false);
        assertThat(results.get(1).diagnostics())
                .containsExactly("(in test file e2e/scenarios/02-approve-csr.bats, line 30)", "  `awk ...' failed",
                        "latency_s=3.2");
    }

    @Test
    void aSkippedTestFails() {
        List<Result> results = E2eScenariosIT.parse(List.of("1..1", "ok 1 kubectl logs works # skip no node"));
        assertThat(results).singleElement().satisfies(r -> {
            assertThat(r.passed()).isFalse();
            assertThat(r.name()).isEqualTo("kubectl logs works");
            assertThat(r.diagnostics()).singleElement().asString().contains("skipped");
        });
    }

    @Test
    void plannedTestsWithoutAResultFail() {
        List<Result> results = E2eScenariosIT.parse(List.of("1..3", "ok 1 first"));
        assertThat(results).hasSize(3);
        assertThat(results.subList(1, 3)).allSatisfy(r -> {
            assertThat(r.passed()).isFalse();
            assertThat(r.name()).contains("no result");
        });
    }

    @Test
    void noOutputIsNoResult() {
        assertThat(E2eScenariosIT.parse(List.of())).isEmpty();
    }
}
