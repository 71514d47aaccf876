//! Printing documents as PDF: A4 pages of wrapped paragraphs in DejaVu Sans (embedded as a subset,
//! with a ToUnicode map so that the text, Vietnamese included, can be searched, copied and
//! extracted). The font is bundled under its own licence (assets/fonts/DejaVuSans.LICENSE).

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;

use crm_model::ports::DocumentPrinter;

static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BODY_SIZE: f32 = 11.0;
const TITLE_SIZE: f32 = 16.0;
const LEADING: f32 = 1.4;

/// Prints with the bundled font; stateless, so one per sandbox serves every invocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct PdfPrinter;

/// One laid-out line: its font size and the glyph ids (before subsetting) with their characters.
struct Line {
    size: f32,
    glyphs: Vec<(u16, char)>,
}

struct Layout<'f> {
    face: ttf_parser::Face<'f>,
    scale: f32,
}

impl<'f> Layout<'f> {
    fn glyphs(&self, text: &str) -> Result<Vec<(u16, char)>, String> {
        text.chars()
            .filter(|c| !c.is_control())
            .map(|c| match self.face.glyph_index(c) {
                Some(g) => Ok((g.0, c)),
                None => Err(format!("the font cannot print '{c}' (U+{:04X})", c as u32)),
            })
            .collect()
    }

    fn width(&self, glyphs: &[(u16, char)], size: f32) -> f32 {
        glyphs
            .iter()
            .map(|(g, _)| {
                self.face
                    .glyph_hor_advance(ttf_parser::GlyphId(*g))
                    .unwrap_or(0) as f32
                    * self.scale
                    * size
                    / 1000.0
            })
            .sum()
    }

    /// Breaks a paragraph into lines that fit the text width, at spaces where possible.
    fn wrap(&self, text: &str, size: f32, out: &mut Vec<Line>) -> Result<(), String> {
        let max = PAGE_WIDTH - 2.0 * MARGIN;
        let mut line: Vec<(u16, char)> = Vec::new();
        // Breaks at ordinary spaces only: a no-break space keeps its words together.
        for word in text.split([' ', '\t']).filter(|w| !w.is_empty()) {
            let word = self.glyphs(word)?;
            let mut candidate = line.clone();
            if !candidate.is_empty() {
                candidate.extend(self.glyphs(" ")?);
            }
            candidate.extend(word.iter().copied());
            if self.width(&candidate, size) <= max
                || line.is_empty() && self.width(&word, size) <= max
            {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                out.push(Line {
                    size,
                    glyphs: std::mem::take(&mut line),
                });
            }
            // A word wider than the line is cut where it overflows.
            for glyph in word {
                line.push(glyph);
                if self.width(&line, size) > max {
                    let last = line.pop();
                    out.push(Line {
                        size,
                        glyphs: std::mem::take(&mut line),
                    });
                    line.extend(last);
                }
            }
        }
        if !line.is_empty() {
            out.push(Line { size, glyphs: line });
        }
        Ok(())
    }
}

impl DocumentPrinter for PdfPrinter {
    fn pdf(&self, title: &str, paragraphs: &[String]) -> Result<Vec<u8>, String> {
        let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| e.to_string())?;
        let layout = Layout {
            scale: 1000.0 / face.units_per_em() as f32,
            face,
        };
        // Precomposed forms: the font maps "ễ" as one glyph, not "e" and two combining marks.
        let mut lines = Vec::new();
        layout.wrap(&title.nfc().collect::<String>(), TITLE_SIZE, &mut lines)?;
        for paragraph in paragraphs {
            lines.push(Line {
                size: BODY_SIZE,
                glyphs: Vec::new(),
            });
            for text_line in paragraph.nfc().collect::<String>().lines() {
                layout.wrap(text_line, BODY_SIZE, &mut lines)?;
            }
        }
        render(&layout, &lines)
    }
}

fn render(layout: &Layout<'_>, lines: &[Line]) -> Result<Vec<u8>, String> {
    let mut remapper = subsetter::GlyphRemapper::new();
    let mut to_unicode: BTreeMap<u16, char> = BTreeMap::new();
    let mut pages: Vec<Content> = Vec::new();
    let mut content = Content::new();
    let mut y = PAGE_HEIGHT - MARGIN;
    content.begin_text();
    for line in lines {
        let advance = line.size * LEADING;
        if y - advance < MARGIN {
            content.end_text();
            pages.push(std::mem::replace(&mut content, Content::new()));
            content.begin_text();
            y = PAGE_HEIGHT - MARGIN;
        }
        y -= advance;
        let mut codes = Vec::with_capacity(line.glyphs.len() * 2);
        for (glyph, c) in &line.glyphs {
            let new = remapper.remap(*glyph);
            to_unicode.entry(new).or_insert(*c);
            codes.extend_from_slice(&new.to_be_bytes());
        }
        if !codes.is_empty() {
            content.set_font(Name(b"F1"), line.size);
            content.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN, y]);
            content.show(Str(&codes));
        }
    }
    content.end_text();
    pages.push(content);

    let widths: Vec<f32> = remapper
        .remapped_gids()
        .map(|g| {
            (layout
                .face
                .glyph_hor_advance(ttf_parser::GlyphId(g))
                .unwrap_or(0) as f32
                * layout.scale)
                .round()
        })
        .collect();
    let subset = subsetter::subset(FONT, 0, &remapper).map_err(|e| format!("{e:?}"))?;

    let mut next = 1;
    let mut alloc = || {
        next += 1;
        Ref::new(next - 1)
    };
    let (catalog, tree, font, cid, descriptor, cmap, file) = (
        alloc(),
        alloc(),
        alloc(),
        alloc(),
        alloc(),
        alloc(),
        alloc(),
    );
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    let base = Name(b"AAAAAA+DejaVuSans");
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(page_refs.len() as i32);
    for ((page_ref, content_ref), content) in page_refs.iter().zip(pages) {
        let mut page = pdf.page(*page_ref);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(tree)
            .contents(*content_ref);
        page.resources().fonts().pair(Name(b"F1"), font);
        page.finish();
        pdf.stream(*content_ref, &content.finish());
    }
    pdf.type0_font(font)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(base)
        .system_info(system)
        .font_descriptor(descriptor)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid_font.widths().consecutive(0, widths);
    cid_font.finish();
    let face = &layout.face;
    let s = layout.scale;
    let bbox = face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            bbox.x_min as f32 * s,
            bbox.y_min as f32 * s,
            bbox.x_max as f32 * s,
            bbox.y_max as f32 * s,
        ))
        .italic_angle(0.0)
        .ascent(face.ascender() as f32 * s)
        .descent(face.descender() as f32 * s)
        .cap_height(face.capital_height().unwrap_or(700) as f32 * s)
        .stem_v(80.0)
        .font_file2(file);
    pdf.stream(file, &subset);
    let mut map = UnicodeCmap::new(Name(b"Custom"), system);
    for (glyph, c) in &to_unicode {
        map.pair(*glyph, *c);
    }
    pdf.cmap(cmap, &map.finish());
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_text_comes_back_out_of_the_pdf() {
        let text = "Kính gửi chị Nguyễn Thị Hằng, ưu đãi 20% cho đơn hàng kế tiếp — Phiếu chăm sóc";
        // Decomposed input (as some keyboards type it) prints the same.
        let decomposed: String = text.nfd().collect();
        let long = "Hành trình chăm sóc khách hàng ".repeat(400);
        let pdf = PdfPrinter
            .pdf("Phiếu chăm sóc khách hàng", &[decomposed, long])
            .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let extracted = pdf_extract::extract_text_from_mem(&pdf).unwrap();
        let words: String = extracted.split_whitespace().collect::<Vec<_>>().join(" ");
        let words: String = words.nfc().collect();
        assert!(words.contains("Phiếu chăm sóc khách hàng"), "{words}");
        assert!(words.contains("Nguyễn Thị Hằng, ưu đãi 20%"), "{words}");
        assert!(
            words.matches("Hành trình").count() >= 400,
            "every page kept"
        );
    }

    #[test]
    fn a_character_the_font_lacks_is_refused_with_its_name() {
        let error = PdfPrinter.pdf("Thẻ", &["漢字".into()]).unwrap_err();
        assert!(error.contains("U+6F22"), "{error}");
    }
}
