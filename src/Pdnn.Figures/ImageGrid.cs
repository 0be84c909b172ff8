using Pdnn.Data;
using SkiaSharp;

namespace Pdnn.Figures;

/// <summary>A PNG of images in rows (e.g. clean / corrupted / recreated), each row labelled, upscaled for viewing.</summary>
public static class ImageGrid
{
    /// <summary>Each row: a label and images as CHW RGB floats in [0,1] of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public static void SavePng(string path, IReadOnlyList<(string Label, IReadOnlyList<float[]> Images)> rows, int height, int width, int scale = 4)
    {
        const int labelWidth = 150, gap = 4;
        int columns = rows.Max(r => r.Images.Count);
        int cellW = width * scale + gap, cellH = height * scale + gap;
        using var surface = SKSurface.Create(new SKImageInfo(labelWidth + columns * cellW, rows.Count * cellH + gap));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKPaint { Color = SKColors.Black, TextSize = 14, IsAntialias = true };
        for (int r = 0; r < rows.Count; r++)
        {
            canvas.DrawText(rows[r].Label, 6, r * cellH + gap + height * scale / 2f + 5, font);
            for (int c = 0; c < rows[r].Images.Count; c++)
            {
                using var bitmap = ToBitmap(rows[r].Images[c], height, width);
                canvas.DrawBitmap(bitmap, new SKRect(labelWidth + c * cellW, r * cellH + gap, labelWidth + c * cellW + width * scale, r * cellH + gap + height * scale));
            }
        }
        using var png = surface.Snapshot().Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        png.SaveTo(file);
    }

    static SKBitmap ToBitmap(float[] chw, int height, int width)
    {
        int plane = height * width;
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = Rgba.FromChw(chw, plane);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }
}
