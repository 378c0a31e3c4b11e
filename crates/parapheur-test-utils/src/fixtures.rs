//! Fixtures: the standard provisioning, PES files and ZIP archives the tests deposit.

pub const SIREN_A: &str = "200000001";
pub const SIREN_B: &str = "200000002";

/// The provisioning every test app starts with.
pub const PROVISIONING: &str = r#"
[[subscribers]]
siren = "200000001"
name = "Commune A"

[[subscribers]]
siren = "200000002"
name = "Commune B"

[[users]]
email = "depot@a.fr"
first_name = "Denise"
last_name = "Dépôt"
password = "password-depot"
subscribers = ["200000001"]

[[users]]
email = "admin@a.fr"
first_name = "Adam"
last_name = "Admin"
password = "password-admin"
subscribers = ["200000001"]
roles = ["admin"]

[[users]]
email = "v1@a.fr"
first_name = "Victor"
last_name = "Un"
password = "password-v1"
subscribers = ["200000001"]

[[users]]
email = "v2@a.fr"
first_name = "Véra"
last_name = "Deux"
password = "password-v2"
subscribers = ["200000001"]

[[users]]
email = "s1@a.fr"
first_name = "Sophie"
last_name = "Signe"
password = "password-s1"
subscribers = ["200000001"]
groups = ["Élus"]

[[users]]
email = "agent@a.fr"
first_name = "Aline"
last_name = "Agent"
password = "password-agent"
subscribers = ["200000001"]

[[users]]
email = "depot@b.fr"
first_name = "Bruno"
last_name = "Bé"
password = "password-depot-b"
subscribers = ["200000002"]

[[users]]
email = "v@b.fr"
first_name = "Berthe"
last_name = "Visa"
password = "password-v-b"
subscribers = ["200000002"]

[[circuits]]
siren = "200000001"
id = "VVS"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "visa", members = ["v1@a.fr"] },
  { step = "visa", members = ["v2@a.fr"] },
  { step = "signature", members = ["s1@a.fr"] },
]

[[circuits]]
siren = "200000001"
id = "VV"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "visa", members = ["v1@a.fr", "admin@a.fr"] },
  { step = "visa", members = ["v2@a.fr"] },
]

[[circuits]]
siren = "200000001"
id = "S"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "META"
type = "BUREAUTIQUE_PDF"
metadata = true
steps = [ { step = "visa", members = ["v1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "XML"
type = "BUREAUTIQUE_XML"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "RESTRICTED"
type = "BUREAUTIQUE_PDF"
depositors = ["admin@a.fr"]
steps = [ { step = "visa", members = ["v1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "SS"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "signature", members = ["s1@a.fr"] },
  { step = "signature", members = ["v2@a.fr"] },
]

[[circuits]]
siren = "200000001"
id = "SV"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["s1@a.fr"] }, { step = "verification" } ]

[[circuits]]
siren = "200000001"
id = "CHECK"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "verification" } ]

[[circuits]]
siren = "200000001"
id = "PES"
type = "HELIOS_SANS_TELETRANSMISSION"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "OTP"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "OTPSignature" } ]

[[circuits]]
siren = "200000001"
id = "VOTP"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "visa", members = ["v1@a.fr"] }, { step = "OTPSignature" } ]

[[circuits]]
siren = "200000002"
id = "VV"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "visa", members = ["v@b.fr"] } ]
"#;

/// Extra provisioning: `PESAVEC`, a Helios circuit with teletransmission for subscriber A whose
/// only step is s1's signature.
pub const HELIOS_CIRCUIT: &str = r#"
[[circuits]]
siren = "200000001"
id = "PESAVEC"
type = "HELIOS_AVEC_TELETRANSMISSION"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]
"#;

/// A small PES_Aller in ISO-8859-1 with two Bordereaux carrying Ids (accents included).
pub fn pes_aller(nomfic: &str) -> Vec<u8> {
    let bordereau = |n: u32| {
        format!(
            "<Bordereau Id=\"BORD{n}\"><BlocBordereau><Exer V=\"2026\"/><IdBord V=\"{n}\"/>\
             <MtBordHT V=\"1{n}00.00\"/></BlocBordereau><Piece><BlocPiece><InfoPce><IdPce V=\"{n}\"/>\
             <Obj V=\"Cantine de l'école élémentaire\"/></InfoPce></BlocPiece></Piece></Bordereau>\n"
        )
    };
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<n:PES_Aller \
         xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\" \
         xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n\
         <Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESALR2\"/><NomFic V=\"{nomfic}\"/></Parametres></Enveloppe>\n\
         <EnTetePES><DteStr V=\"2026-11-27\"/><IdPost V=\"042000\"/><LibelleColBud V=\"Commune A - régie\"/></EnTetePES>\n\
         <PES_DepenseAller><EnTeteDepense><IdVer V=\"2\"/></EnTeteDepense>\n{}{}</PES_DepenseAller>\n</n:PES_Aller>\n",
        bordereau(1),
        bordereau(2)
    );
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Reads the names and bytes of a ZIP archive.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP archive");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("read entry");
            (f.name().expect("an entry name").into_owned(), b)
        })
        .collect()
}

/// Writes a ZIP archive of the given entries.
pub fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, b) in entries {
        w.start_file(*n, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        w.write_all(b).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}
