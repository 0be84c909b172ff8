using Microsoft.ML.Data;
using SkiaSharp;

namespace RobustService;

/// <summary>Reads an uploaded image (multipart form field "image", or the raw request body) and decodes it, with reasons for refusals.</summary>
public static class ImageUpload
{
    /// <summary>A refusal: the HTTP status and the reason the client is told.</summary>
    public sealed record Refusal(int Status, string Title, string Detail);

    public static async Task<(byte[]? Bytes, string Name, Refusal? Refusal)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancel)
    {
        Stream body;
        string name;
        // A form adds a few hundred bytes of headers around the file; anything much larger is refused before it is read.
        if (request.ContentLength > maxBytes + 64 * 1024) return (null, "upload", TooLarge("upload", request.ContentLength.Value, maxBytes));
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try { form = await request.ReadFormAsync(cancel); }
            catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
            {
                return (null, "", new(400, "malformed form", $"the multipart form could not be read: {e.Message}"));
            }
            var file = form.Files.GetFile("image") ?? form.Files.FirstOrDefault();
            if (file == null) return (null, "", new(400, "no image", "the form has no file; send the image as the form field 'image'."));
            if (file.Length > maxBytes) return (null, file.FileName, TooLarge(file.FileName, file.Length, maxBytes));
            body = file.OpenReadStream();
            name = file.FileName;
        }
        else
        {
            body = request.Body;
            name = "request body";
        }
        await using (body)
        {
            var memory = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(buffer, cancel)) > 0)
            {
                if (memory.Length + read > maxBytes) return (null, name, TooLarge(name, memory.Length + read, maxBytes));
                memory.Write(buffer, 0, read);
            }
            if (memory.Length == 0)
                return (null, name, new(400, "no image", $"{name}: empty; send an image (PNG, JPEG, GIF, BMP, WebP) as the form field 'image' or as the request body."));
            return (memory.ToArray(), name, null);
        }
    }

    static Refusal TooLarge(string name, long size, long max) => new(413, "upload too large", $"{name}: more than {max} bytes (at least {size}).");

    /// <summary>
    /// Decodes <paramref name="bytes"/> completely (a truncated or corrupt file is refused, not half-read), after checking
    /// its size from the header alone. Returns the picture, or the reason it cannot be one.
    /// </summary>
    public static (MLImage? Picture, Refusal? Refusal) Decode(byte[] bytes, string name, int maxSide)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec == null)
            return (null, new(400, "not an image", $"{name}: {bytes.Length} bytes that are not an image this service can decode (PNG, JPEG, GIF, BMP, WebP, ICO)."));
        var info = codec.Info;
        if (info.Width < 1 || info.Height < 1 || info.Width > maxSide || info.Height > maxSide)
            return (null, new(400, "image size not accepted", $"{name}: {info.Width}x{info.Height} pixels; this service accepts 1 to {maxSide} pixels a side."));
        var result = codec.GetPixels(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), out byte[] pixels);
        if (result != SKCodecResult.Success)
            return (null, new(400, "corrupt image", $"{name}: the {codec.EncodedFormat} data could not be decoded completely ({result})."));
        return (MLImage.CreateFromPixels(info.Width, info.Height, MLPixelFormat.Rgba32, pixels), null);
    }
}
