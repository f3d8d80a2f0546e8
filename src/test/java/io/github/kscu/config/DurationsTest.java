package io.github.kscu.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {
    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource({"75, 75000", "0, 0", "75s, 75000", "1m15s, 75000", "500ms, 500", "1.5h, 5400000", "2m, 120000",
        "1h2m3s4ms, 3723004", "' 30 ', 30000", "0.5s, 500", "10m, 600000"})
    void parsesEveryForm(String text, long millis) {
        assertThat(Durations.parse(text)).contains(Duration.ofMillis(millis));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "-1", "-1s", "1d", "s", "1.s", "1 s", "1s2", "ms", "1e3", "abc", "99999999999999999h"})
    void rejectsMalformed(String text) {
        assertThat(Durations.parse(text)).isEmpty();
    }

    @ParameterizedTest(name = "{0} ms formats as {1}")
    @CsvSource({"0, 0s", "500, 500ms", "2000, 2s", "75000, 1m15s", "600000, 10m", "3723004, 1h2m3.004s", "1500, 1.5s"})
    void formatsLikeGo(long millis, String text) {
        assertThat(Durations.format(Duration.ofMillis(millis))).isEqualTo(text);
        assertThat(Durations.parse(text)).contains(Duration.ofMillis(millis));
    }
}
