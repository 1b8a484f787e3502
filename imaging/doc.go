package imaging

// What each operation does here (spec/cdn.md §3–4). Lengths in percent
// are of the current image; positions are keywords, pixel offsets of the
// top-left corner, or percentages that slide the object from one edge (0%)
// to the other (100%), so 50%,50% centres it.
//
// Geometry
//   - preview: fit inside the box (default 2048x2048), never upscaled.
//   - resize: exact size, ratio kept when a side is omitted. stretch/on
//     (default) upscales; off keeps each side at most its size; fill does
//     the same and then centres the image on a canvas of the requested size
//     in the setfill colour.
//   - scale_crop, smart_resize: cover the box, then crop at the position
//     (default centre). The types naming faces (smart_faces,
//     smart_faces_objects, smart_objects_faces_points, …) centre the crop
//     on the box holding every face found (see Faces below); the other
//     smart types, smart_resize, and the face types when no face is found
//     use libvips' attention measure (skin tones, saturation, edges):
//     there is no object detector. stretch applies as for resize.
//   - crop: by size (px or %) at an offset (default 0,0) or alignment, or
//     by ratio (default centred). The area is kept inside the image: pixel
//     offsets past an edge (negative ones included) move it back in. On a
//     side where the area is larger than the image, the image stays inside
//     the area (at the offset, clamped) and the rest is the setfill colour
//     (white by default; a translucent setfill adds alpha).
//   - crop/face: the largest face found is the object: the crop is the
//     face box, the smallest box of the ratio holding it, or the size
//     (% of the face's size, or px), with the face at the position in it
//     (centred by default), kept inside the image. crop/image, and
//     crop/face when no face is found: the object is taken to be the
//     whole image, the size (ratio, or % of it) is cut where attention is
//     highest, or at the position when one is given.
//   - rotate (counter-clockwise, multiples of 90), flip (vertical), mirror
//     (horizontal), autorotate (EXIF orientation, on by default, applied
//     before every other operation wherever autorotate appears).
//   - border_radius: CSS-like radii (1–4, optional vertical radii) make an
//     anti-aliased alpha mask; JPEG output flattens the corners onto the
//     setfill colour (white by default), PNG/WebP/AVIF/GIF keep them clear.
//
// Colour (on sRGB values; formulas in pixels.go)
//   - brightness, exposure, gamma, contrast, warmth, invert, enhance (luma
//     1%–99% stretch by strength/100): lookup tables.
//   - saturation, grayscale (Rec. 601 luma): colour matrix; vibrance:
//     saturation weighted by how grey each pixel is.
//   - blur: Gaussian, sigma = strength/2; amount mixes the blur in (100 =
//     all, negative = unsharp mask). blur_region: the same inside a
//     rectangle; blur_region/faces inside each face box found.
//     sharp: libvips' edge-aware sharpen on lightness.
//   - srgb: icc (default) converts through an embedded profile no larger
//     than max_icc_size KB (default 10; sRGB profiles are skipped as
//     no-ops), fast ignores profiles, keep_profile keeps pixels and profile.
//     CMYK is always converted (embedded profile, else libvips' own).
//     Everything is processed as 8-bit sRGB (16-bit sources are reduced).
//
// Layers
//   - overlay: another file (through Overlays) or self, fitted inside the
//     size box keeping its ratio (its own size, shrunk to fit the image,
//     when no size is given), at the position (default top-left), with
//     opacity.
//   - rect: a colour (alpha allowed) rectangle.
//   - text with font (size in px, colour; default 10, black), text_align
//     (default left/top) and text_box (none, fill, fit; line is drawn as
//     fit; default colour white, padding 10): the text wraps at the box
//     width and is clipped to the box; rendered with Pango ("sans").
//
// Output
//   - format: jpeg, png, webp, avif, gif, auto, preserve; see chooseFormat.
//     Animated GIF/WebP sources keep every frame (each frame goes through
//     all operations) when the output is GIF or WebP.
//   - quality: lightest 60, lighter 70, normal 80, better 87, best 95,
//     smart 80, smart_retina 70 for JPEG/WebP; AVIF 40/48/56/65/80.
//   - progressive: interlaced JPEG (default off). strip_meta: all (default;
//     keep_profile still keeps the ICC profile), none, sensitive (drops GPS,
//     camera and owner fields, XMP and IPTC).
//   - inline and rasterize change nothing here (SVG is always rendered, at
//     the size the operations ask for).
//   - json: {"id", width, height (the stored image when no operation changes
//     pixels, else the result), format, color_mode, orientation, dpi,
//     geo_location, datetime_original, sequence, hash (64-bit dHash, hex),
//     blurhash: null}. main_colors: {"main_colors": [[r,g,b], …]}, N
//     (default 4) colours by median cut refined with k-means, most common
//     first. Both must be the last operation.
//
// Faces
//   - Found by a Haar cascade (Options.Faces, package haar; OpenCV's
//     frontal face cascade from Debian's opencv-data) on the current image
//     read through libvips as grey, shrunk to at most 800 px on its long
//     side; boxes are scaled back. A detection needs more than 5
//     overlapping windows. It runs on a worker as an expensive transform and stops
//     with the transform.
//   - detect_faces (DetectFaces, alone): {"id", orientation, format,
//     height, width, geo_location, datetime_original, dpi, faces:
//     [[x, y, w, h], …]} with size and boxes in pixels of the stored image
//     turned upright (EXIF orientation applied), faces top to bottom.
//   - Without a cascade, detect_faces and blur_region/faces fail with an
//     *OpError; crop/face and the face scale_crop types fall back to the
//     attention measure.
//
// Named filters are Satchel's own looks (see filters.go), not Uploadcare's.
//
// Not supported (*OpError): zoom_objects (no object detector).
