package io.github.kscu.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.config.Durations;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The pace of looks at the certificate once its timeout is past: {@link CertPace#slowed}. */
class CertPaceTest {
    @ParameterizedTest(name = "source every {0}, {1} past the timeout: every {2}")
    @CsvSource({
        "50ms, 0s, 50ms", // just timed out: as quick as the source
        "50ms, 30s, 500ms", // a sixtieth of the time overdue
        "50ms, 1m, 1s",
        "50ms, 2h, 1s", // never slower than once a second
        "10s, 2h, 10s", // a slower source keeps its own pace
    })
    void slowsWithTheTimeOverdue(String pace, String overdue, String expected) {
        assertThat(CertPace.slowed(Durations.parse(pace).orElseThrow(), Durations.parse(overdue).orElseThrow()))
                .isEqualTo(Durations.parse(expected).orElseThrow());
    }
}
