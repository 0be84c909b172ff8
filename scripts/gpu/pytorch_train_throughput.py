"""Training throughput of the same CIFAR ResNet-20 in Python PyTorch, for comparison with `pdnn bench-train` on the
same card in the same call: clean SGD steps and FGSM-RS / PGD-7 adversarial steps at batch 128, with the same
augmentation (random crop, padding 4, and flip as one gather), eager mode, float32. Prints one line per recipe:
`pytorch <recipe> <images/s median> <runs...>`."""
import sys, time, statistics
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1))
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        blocks, cin = [], 16
        for s, w in enumerate([16, 32, 64]):
            for b in range(3):
                blocks.append(Block(cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
        self.stages = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stages(self.stem((x - self.mean) / self.std))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def crop_flip(x, g):
    n, c, h, w = x.shape
    p = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=g, device=x.device)
    dx = torch.randint(0, 9, (n,), generator=g, device=x.device)
    flip = torch.randint(0, 2, (n,), generator=g, device=x.device).bool()
    i = torch.arange(h, device=x.device)
    j = torch.arange(w, device=x.device)
    rows = (dy[:, None] + i[None, :])[:, :, None]
    jj = torch.where(flip[:, None], w - 1 - j[None, :], j[None, :])
    cols = (dx[:, None] + jj)[:, None, :]
    index = (rows * (w + 8) + cols).reshape(n, 1, h * w).expand(n, c, h * w)
    return p.flatten(2).gather(2, index).reshape(n, c, h, w)


def craft(model, x, y, eps, alpha, steps, random_start):
    adv = (x + (torch.rand_like(x) * 2 - 1) * eps).clamp(0, 1) if random_start else x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y, reduction="sum")
        g, = torch.autograd.grad(loss, [adv])
        adv = torch.min(torch.max(adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def measure(recipe, steps=50, warmup=5, batch=128, repeats=3):
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model = ResNet20().to(dev).train()
    opt = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9, weight_decay=5e-4)
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8, device=dev)
    labels = torch.randint(0, 10, (batch,), device=dev)
    g = torch.Generator(device=dev).manual_seed(0)
    eps = 8 / 255

    def run(count):
        for _ in range(count):
            x = crop_flip(images.float().div_(255), g)
            if recipe == "fgsm-rs":
                x = craft(model, x, labels, eps, 1.25 * eps, 1, True)
            elif recipe == "pgd7":
                x = craft(model, x, labels, eps, 2.5 * eps / 7, 7, True)
            opt.zero_grad()
            F.cross_entropy(model(x), labels).backward()
            opt.step()
        torch.cuda.synchronize()

    run(warmup)
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(steps)
        rates.append(batch * steps / (time.perf_counter() - t))
    return statistics.median(rates), rates


if __name__ == "__main__":
    print(f"pytorch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    for recipe in sys.argv[1:] or ["clean", "fgsm-rs", "pgd7"]:
        med, rates = measure(recipe)
        print(f"pytorch {recipe} {med:.0f} " + " ".join(f"{r:.0f}" for r in rates), flush=True)
