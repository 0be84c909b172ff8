using System.Globalization;
using SkiaSharp;

namespace Pdnn.Data;

/// <summary>A small line chart as PNG (e.g. accuracy vs ε, one line per defence): axes, ticks, markers and a legend.</summary>
public static class LinePlot
{
    static readonly SKColor[] Palette =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];

    /// <summary>Each series: a name and (x, y) points; y is drawn between <paramref name="yMin"/> and <paramref name="yMax"/>.</summary>
    public static void SavePng(string path, string title, string xLabel, string yLabel,
                               IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series,
                               double yMin = 0, double yMax = 100, IReadOnlyList<double>? xTicks = null, Func<double, string>? xTickLabel = null)
    {
        const int width = 820, height = 520, left = 70, right = 250, top = 45, bottom = 60;
        double xMin = series.SelectMany(s => s.Points).Min(p => p.X), xMax = series.SelectMany(s => s.Points).Max(p => p.X);
        if (xMax <= xMin) xMax = xMin + 1;
        float X(double x) => (float)(left + (x - xMin) / (xMax - xMin) * (width - left - right));
        float Y(double y) => (float)(top + (yMax - y) / (yMax - yMin) * (height - top - bottom));

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var text = new SKPaint { Color = SKColors.Black, TextSize = 13, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(225, 225, 225), StrokeWidth = 1 };
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1.5f };
        canvas.DrawText(title, left, 25, new SKPaint { Color = SKColors.Black, TextSize = 16, IsAntialias = true, FakeBoldText = true });
        for (int i = 0; i <= 5; i++)
        {
            double y = yMin + i * (yMax - yMin) / 5;
            canvas.DrawLine(left, Y(y), width - right, Y(y), grid);
            canvas.DrawText(y.ToString("0", CultureInfo.InvariantCulture), left - 35, Y(y) + 4, text);
        }
        foreach (var x in xTicks ?? series[0].Points.Select(p => p.X).ToList())
        {
            canvas.DrawLine(X(x), top, X(x), height - bottom, grid);
            canvas.DrawText(xTickLabel?.Invoke(x) ?? x.ToString("0.###", CultureInfo.InvariantCulture), X(x) - 10, height - bottom + 18, text);
        }
        canvas.DrawLine(left, height - bottom, width - right, height - bottom, axis);
        canvas.DrawLine(left, top, left, height - bottom, axis);
        canvas.DrawText(xLabel, left + (width - left - right) / 2f - 40, height - 15, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 18, top + (height - top - bottom) / 2f + 40);
        canvas.DrawText(yLabel, 18, top + (height - top - bottom) / 2f + 40, text);
        canvas.Restore();

        for (int s = 0; s < series.Count; s++)
        {
            using var line = new SKPaint { Color = Palette[s % Palette.Length], StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var dot = new SKPaint { Color = Palette[s % Palette.Length], IsAntialias = true };
            var points = series[s].Points.OrderBy(p => p.X).ToList();
            for (int i = 1; i < points.Count; i++) canvas.DrawLine(X(points[i - 1].X), Y(points[i - 1].Y), X(points[i].X), Y(points[i].Y), line);
            foreach (var p in points) canvas.DrawCircle(X(p.X), Y(p.Y), 4, dot);
            float ly = top + 10 + s * 22;
            canvas.DrawLine(width - right + 15, ly, width - right + 40, ly, line);
            canvas.DrawText(series[s].Name, width - right + 48, ly + 5, text);
        }
        using var png = surface.Snapshot().Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
