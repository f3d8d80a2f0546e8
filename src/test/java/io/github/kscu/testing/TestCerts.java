package io.github.kscu.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates generated per test with Bouncy Castle: a CA, and kubelet-style serving certificates. */
public final class TestCerts {
    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    private TestCerts() {
    }

    /** A certificate with its key. */
    public record Issued(X509Certificate certificate, KeyPair keys) {
        public String certificatePem() {
            return pem(certificate);
        }

        public String keyPem() {
            return keys.getPrivate().getAlgorithm().equals("EC") ? sec1Pem(keys) : pem(keys.getPrivate());
        }

        /** Certificate then key, like the kubelet's {@code kubelet-server-<timestamp>.pem}. */
        public String kubeletPem() {
            return certificatePem() + keyPem();
        }

        public Path writeKubeletPem(Path file) throws IOException {
            Files.writeString(file, kubeletPem(), StandardCharsets.US_ASCII);
            return file;
        }

        /**
         * Installs this certificate the way the kubelet rotates: a new timestamped PEM in the directory of
         * {@code current}, then a new symlink renamed atomically over {@code current}.
         */
        public Path installLikeKubelet(Path current) throws IOException {
            return stageLikeKubelet(current).swapIn();
        }

        /** The kubelet's first step only: the new PEM and a symlink to it, not yet renamed into place. */
        public Staged stageLikeKubelet(Path current) throws IOException {
            Path pki = Files.createDirectories(current.getParent());
            Path pem = writeKubeletPem(pki.resolve("kubelet-server-" + System.nanoTime() + ".pem"));
            return new Staged(Files.createSymbolicLink(pki.resolve(".current-" + System.nanoTime()),
                    pem.getFileName()), current);
        }
    }

    /** A certificate written next to the current one, waiting for the atomic rename that publishes it. */
    public record Staged(Path link, Path current) {
        public Path swapIn() throws IOException {
            return Files.move(link, current, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static KeyPair ecKeys() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair rsaKeys() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Issued ca(String cn) {
        KeyPair keys = ecKeys();
        Instant now = Instant.now();
        return sign(cn, keys, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)), null, true, List.of());
    }

    /** A serving certificate for {@code system:node:<node>}, valid from an hour ago for a year. */
    public static Issued serving(Issued ca, String node) {
        Instant now = Instant.now();
        return serving(ca, "system:node:" + node, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(365)));
    }

    public static Issued serving(Issued ca, String cn, Instant notBefore, Instant notAfter) {
        return sign(cn, ecKeys(), notBefore, notAfter, ca, false, List.of("127.0.0.1"));
    }

    /** The apiserver's serving certificate: loopback, the in-cluster names, and {@code ips}. */
    public static Issued apiserverServing(Issued ca, List<String> ips) {
        Instant now = Instant.now();
        List<GeneralName> names = new java.util.ArrayList<>(List.of(new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "10.96.0.1"),
                new GeneralName(GeneralName.dNSName, "kubernetes"),
                new GeneralName(GeneralName.dNSName, "kubernetes.default"),
                new GeneralName(GeneralName.dNSName, "kubernetes.default.svc")));
        ips.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
        return sign(new X500Name("CN=kube-apiserver"), ecKeys(), now.minus(Duration.ofHours(1)),
                now.plus(Duration.ofDays(30)), ca, false, names, null);
    }

    /** A self-signed serving certificate (no CA). */
    public static Issued selfSigned(String cn, Instant notBefore, Instant notAfter) {
        return sign(cn, ecKeys(), notBefore, notAfter, null, false, List.of("127.0.0.1"));
    }

    public static Issued client(Issued ca, String cn, String org, KeyPair keys) {
        Instant now = Instant.now();
        X500Name subject = new X500Name(org == null ? "CN=" + cn : "O=" + org + ",CN=" + cn);
        return sign(subject, keys, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(30)), ca, false, List.of(),
                null);
    }

    /** A node's serving certificate names the node as a DNS SAN too, as the kubelet's does. */
    private static Issued sign(String cn, KeyPair keys, Instant notBefore, Instant notAfter, Issued issuer,
            boolean isCa, List<String> ips) {
        boolean node = cn.startsWith("system:node:");
        X500Name subject = new X500Name(node ? "O=system:nodes,CN=" + cn : "CN=" + cn);
        List<GeneralName> names = new java.util.ArrayList<>();
        ips.forEach(ip -> names.add(new GeneralName(GeneralName.iPAddress, ip)));
        if (node) {
            names.add(new GeneralName(GeneralName.dNSName, cn.substring("system:node:".length())));
        }
        return sign(subject, keys, notBefore, notAfter, issuer, isCa, names, null);
    }

    /**
     * Signs a certificate for {@code keys}.
     *
     * @param eku extended key usages to write (KeyPurposeId), or null for none
     */
    public static Issued sign(X500Name subject, KeyPair keys, Instant notBefore, Instant notAfter, Issued issuer,
            boolean isCa, List<GeneralName> names, org.bouncycastle.asn1.x509.KeyPurposeId[] eku) {
        try {
            X500Name issuerName = issuer == null ? subject
                    : X500Name.getInstance(issuer.certificate().getSubjectX500Principal().getEncoded());
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
                    BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(notBefore), Date.from(notAfter), subject,
                    keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(isCa
                    ? KeyUsage.keyCertSign | KeyUsage.digitalSignature
                    : KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            if (!names.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            if (eku != null) {
                b.addExtension(Extension.extendedKeyUsage, false, new org.bouncycastle.asn1.x509.ExtendedKeyUsage(eku));
            }
            var signingKey = issuer == null ? keys.getPrivate() : issuer.keys().getPrivate();
            String algorithm = signingKey.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
            X509CertificateHolder holder = b.build(new JcaContentSignerBuilder(algorithm).build(signingKey));
            return new Issued(new JcaX509CertificateConverter().getCertificate(holder), keys);
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue a test certificate", e);
        }
    }

    /**
     * An EC key as openssl and Go write it: SEC1 "EC PRIVATE KEY" with the named curve and the public
     * point inside. (Bouncy Castle's writer leaves the curve out when the key came from the JDK.)
     */
    public static String sec1Pem(KeyPair ec) {
        try {
            var key = (java.security.interfaces.ECPrivateKey) ec.getPrivate();
            var pub = (java.security.interfaces.ECPublicKey) ec.getPublic();
            byte[] point = new byte[65];
            point[0] = 0x04; // uncompressed: x then y, 32 bytes each on P-256
            copyFixed(pub.getW().getAffineX(), point, 1);
            copyFixed(pub.getW().getAffineY(), point, 33);
            var sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256, key.getS(),
                    new org.bouncycastle.asn1.DERBitString(point),
                    new org.bouncycastle.asn1.x9.X962Parameters(org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp256r1));
            StringWriter s = new StringWriter();
            try (var w = new org.bouncycastle.util.io.pem.PemWriter(s)) {
                w.writeObject(new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY", sec1.getEncoded()));
            }
            return s.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void copyFixed(BigInteger v, byte[] out, int at) {
        byte[] b = v.toByteArray();
        int n = Math.min(32, b.length);
        System.arraycopy(b, b.length - n, out, at + 32 - n, n);
    }

    /** PEM of a certificate, key or any object Bouncy Castle can write (PKCS#1 for RSA key pairs, SEC1 for EC). */
    public static String pem(Object o) {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return s.toString();
    }
}
