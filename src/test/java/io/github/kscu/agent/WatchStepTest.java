package io.github.kscu.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.agent.WatchStep.BackOff;
import io.github.kscu.agent.WatchStep.Ended;
import io.github.kscu.agent.WatchStep.Next;
import io.github.kscu.config.Durations;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What the node tracker does after a watch ends or fails. */
class WatchStepTest {
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "WATCHED,     WATCH",
        "GONE,        WATCH_AFRESH",
        "ENDED_EARLY, BACK_OFF",
        "FAILED,      BACK_OFF",
        "NOT_FOUND,   BACK_OFF_AND_GET",
        "BAD_ANSWER,  BACK_OFF_AND_GET",
    })
    void afterAWatch(Ended how, Next expected) {
        assertThat(WatchStep.after(how)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "get asked {0}, backoff {1}, GET due in {2}, ever read {3}: wait {4}, get {5}")
    @CsvSource({
        // Well before a GET is due: the failure's own backoff, a GET only if the failure asked for one.
        "false, 1s,  29s,   true,  1s,  false",
        "true,  1s,  29s,   true,  1s,  true",
        // The backoff would reach the due GET: no later than it, and with it.
        "false, 30s, 29s,   true,  29s, true",
        "false, 30s, 30s,   true,  30s, true",
        "false, 4s,  -10s,  true,  0s,  true",
        // Before any GET (the first watch failed): the GET waits for the backoff, not at once.
        "false, 4s,  -100d, false, 4s,  true",
        "true,  1s,  -100d, false, 1s,  true",
    })
    void backOff(boolean getAsked, String backoff, String untilGet, boolean everGot, String delay, boolean get) {
        assertThat(WatchStep.backOff(getAsked, d(backoff), d(untilGet), everGot)).isEqualTo(new BackOff(d(delay), get));
    }

    private static Duration d(String s) {
        return s.startsWith("-") ? d(s.substring(1)).negated()
                : s.endsWith("d") ? Duration.ofDays(Long.parseLong(s.substring(0, s.length() - 1)))
                : Durations.parse(s).orElseThrow();
    }
}
