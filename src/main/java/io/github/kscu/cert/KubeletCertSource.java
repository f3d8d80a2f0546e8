package io.github.kscu.cert;

import io.github.kscu.cert.CertCheck.NotYet;
import io.github.kscu.cert.CertCheck.Problem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The kubelet's serving certificate as the apiserver sees it: a TLS handshake with the kubelet's own
 * port. No client certificate is presented and no request is sent, so the kubelet has nothing to
 * authorise and nothing to log but a closed connection. Needs no hostPath and no root: the kubelet's
 * private key never enters the pod.
 *
 * <p>A kubelet without a serving certificate fails every handshake (its GetCertificate callback
 * errors, which the client sees as "internal error"); that, a refused connection or a timeout is
 * "not yet". A completed handshake yields the presented chain, which is checked like a file
 * certificate, plus its chain against the CA bundle and its SANs against the dialled address.
 *
 * <p>Each probe is a {@link TlsProbe}: an alert costs a connection and a few bytes; a ServerHello is
 * followed through to the chain on the same connection. A full handshake per probe, as at first, cost
 * milliseconds of CPU even when it failed, which forced a 250 ms interval; the probe is what lets the
 * agent look every {@link #PROBE_INTERVAL} instead.
 */
public final class KubeletCertSource implements CertSource {
    /** Between probes while waiting: quick to notice, one probe at a time, cheap (see docs/benchmarks.md). */
    public static final Duration PROBE_INTERVAL = Duration.ofMillis(50);
    public static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Set<TrustAnchor> anchors;
    private final CertificateValidator validator;
    private final Clock clock;
    private final TlsProbe probe;

    /**
     * @param host   the kubelet's host, without brackets; {@code validator} checks the SANs against it
     * @param caFile PEM bundle the chain must lead to, or {@code null} to skip chain verification
     */
    public KubeletCertSource(String host, int port, Path caFile, CertificateValidator validator, Clock clock)
            throws IOException, GeneralSecurityException {
        this.anchors = caFile == null ? null : anchors(caFile);
        this.validator = validator;
        this.clock = clock;
        SSLContext tls = SSLContext.getInstance("TLS");
        // Accept whatever is presented: the decision is ours, after the handshake, with a precise reason
        // ("expired", "untrusted") instead of one opaque handshake failure.
        tls.init(null, new TrustManager[] {new DeferringTrustManager()}, null);
        this.probe = new TlsProbe(tls, host, port, PROBE_TIMEOUT);
    }

    private static Set<TrustAnchor> anchors(Path caFile) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(caFile)) {
            Collection<? extends java.security.cert.Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new GeneralSecurityException("no certificate in " + caFile);
            }
            Set<TrustAnchor> out = new HashSet<>();
            for (var c : certs) {
                out.add(new TrustAnchor((X509Certificate) c, null));
            }
            return out;
        }
    }

    @Override
    public CertCheck check() {
        return switch (probe.probe()) {
            case TlsProbe.Presented p -> checkChain(p.chain());
            case TlsProbe.Refused r -> r.why();
        };
    }

    /** The checks after a completed handshake; package-private for tests. */
    CertCheck checkChain(X509Certificate[] chain) {
        if (chain.length == 0) {
            return new NotYet(Problem.NO_CERTIFICATE, "the kubelet presented no certificate");
        }
        CertCheck leaf = validator.checkLeaf(chain[0], clock.instant());
        if (!(leaf instanceof CertCheck.Valid valid)) {
            return leaf;
        }
        if (anchors != null) {
            try {
                PKIXParameters params = new PKIXParameters(anchors);
                params.setRevocationEnabled(false);
                params.setDate(java.util.Date.from(clock.instant()));
                CertPathValidator.getInstance("PKIX").validate(
                        CertificateFactory.getInstance("X.509").generateCertPath(Arrays.asList(chain)), params);
            } catch (CertPathValidatorException e) {
                return new NotYet(Problem.UNTRUSTED, e.getMessage());
            } catch (GeneralSecurityException e) {
                return new NotYet(Problem.UNTRUSTED, e.toString());
            }
        }
        // The validator was made with the host dialled here: the SANs must cover it, as the apiserver checks.
        return validator.checkAddress(chain[0], valid);
    }

    @Override
    public boolean awaitChange(Duration max) throws InterruptedException {
        Thread.sleep(max);
        return false; // no change events
    }

    /** Probes at its own pace while waiting, whatever cert-check-interval says: see {@link #PROBE_INTERVAL}. */
    @Override
    public Duration pollInterval(Duration configured) {
        return PROBE_INTERVAL;
    }

    @Override
    public void close() {
        probe.close();
    }

    /** Trusts everything during the handshake; {@link #checkChain} decides afterwards. */
    private static final class DeferringTrustManager implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("client side only");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // accepted here, judged in checkChain
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
