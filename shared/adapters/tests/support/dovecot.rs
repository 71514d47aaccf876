//! A real IMAP server for the mailbox sync's tests: Debian's dovecot (package dovecot-imapd,
//! which infra/test.sh installs), started in a folder of its own on a free loopback port, IMAP
//! over TLS only with a certificate for `localhost` from a CA made for the run (openssl), users
//! from a passwd file (a password serves both LOGIN and, as dovecot checks it, an XOAUTH2
//! token), and Maildir folders the test writes messages into.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dovecot {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    /// The PEM of the CA the server's certificate comes from.
    pub ca: PathBuf,
    /// The mail files' owner (dovecot refuses to read mail as root).
    owner: Option<(u32, u32)>,
    delivered: u32,
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn id(flag: &str, name: &str) -> u32 {
    let output = Command::new("id")
        .args([flag, name])
        .output()
        .expect("id runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("an id")
}

impl Dovecot {
    /// Starts a server whose users are `users` (name, password).
    pub fn start(users: &[(&str, &str)]) -> Self {
        let binary = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("dovecot is not installed: apt-get install dovecot-imapd (infra/test.sh does)");
        let dir =
            std::env::temp_dir().join(format!("crm-dovecot-{}", uuid::Uuid::new_v4().simple()));
        for sub in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(&dir).args(args));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=CRM test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        let passwd: String = users
            .iter()
            .map(|(user, password)| format!("{user}:{{PLAIN}}{password}\n"))
            .collect();
        std::fs::write(dir.join("passwd"), passwd).unwrap();
        // As root, mail is read as nobody (and the login processes run as dovecot's own users);
        // otherwise everything runs as the user running the tests.
        let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        let (mail_user, extra, owner) = if root {
            let owner = (id("-u", "nobody"), id("-g", "nobody"));
            (
                "uid=nobody gid=nogroup".to_owned(),
                String::new(),
                Some(owner),
            )
        } else {
            let me =
                String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
            let me = me.trim();
            (
                format!("uid={me} gid={}", id("-g", me)),
                format!("default_login_user = {me}\ndefault_internal_user = {me}\n"),
                None,
            )
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.display();
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n{extra}\
             protocols = imap\nlisten = 127.0.0.1\nssl = required\n\
             ssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n\
             auth_mechanisms = plain login xoauth2\nfirst_valid_uid = 0\n\
             mail_location = maildir:{d}/mail/%u\n\
             namespace inbox {{\n  inbox = yes\n  mailbox Sent {{\n    auto = create\n    special_use = \\Sent\n  }}\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = {mail_user} home={d}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = 0\n  }}\n\
               inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(dir.join("dovecot.conf"), config).unwrap();
        let server = Dovecot {
            child: Command::new(binary)
                .args(["-F", "-c"])
                .arg(dir.join("dovecot.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dovecot starts"),
            ca: dir.join("ca.pem"),
            dir,
            port,
            owner,
            delivered: 0,
        };
        server.chown_tree();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(15) {
                let log =
                    std::fs::read_to_string(server.dir.join("dovecot.log")).unwrap_or_default();
                panic!("dovecot did not listen on {port} in 15 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn chown_tree(&self) {
        if let Some((uid, gid)) = self.owner {
            for sub in ["mail", "home"] {
                run(Command::new("chown")
                    .arg("-R")
                    .arg(format!("{uid}:{gid}"))
                    .arg(self.dir.join(sub)));
            }
        }
    }

    /// Writes the message `raw` into `user`'s folder (`INBOX` or another, such as `Sent`), as a
    /// delivery agent would.
    pub fn deliver(&mut self, user: &str, folder: &str, raw: &str) {
        let mut path = self.dir.join("mail").join(user);
        if folder != "INBOX" {
            // Maildir++ keeps a folder under its IMAP name (modified UTF-7).
            path = path.join(format!(".{}", crm_adapters::imap::mailbox_name(folder)));
        }
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(path.join(sub)).unwrap();
        }
        self.delivered += 1;
        let name = format!(
            "{}.M{}P{}.crm-test",
            1_700_000_000 + self.delivered,
            self.delivered,
            std::process::id()
        );
        std::fs::write(path.join("new").join(name), raw.replace('\n', "\r\n")).unwrap();
        self.chown_tree();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // TERM, so that the master stops its login and auth processes too.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
